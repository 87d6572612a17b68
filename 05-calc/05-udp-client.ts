/**
 * @title UDP calculator client
 * @summary Ask over UDP with an id per request, resend on silence, and never take a late reply for the current one.
 * @run bun run 05-calc/05-udp-client.ts [CALCULATION] [--host HOST] [--port PORT] [--timeout-ms 500] [--attempts 4] [--json]
 * @python udp/client_calc.py
 *
 * UDP promises nothing: a request or its reply may vanish, so `ask()` waits
 * `--timeout-ms` and sends again, up to `--attempts` times. A reply to an earlier
 * request may still arrive while we wait for this one's: the id tells them apart.
 * Requests are padded to 128 bytes so that errors fit (a reply is never bigger than its
 * request); a bigger result comes back as `ERR reply-too-large: needs N bytes`, and the
 * client asks again, padded to N.
 */
import { command, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { startUdpServer } from "./04-udp-server.ts";
import { parseDatagramReply, type Reply, UDP_PORT } from "./protocol.ts";

/** Asks each request in turn; resolves with the results and how many stray replies came. */
export async function calculateUdp(
  requests: Iterable<string> | AsyncIterable<string>,
  options: UdpOptions = {},
): Promise<{ results: UdpResult[]; ignored: number }> {
  const { host = "127.0.0.1", port = UDP_PORT, onResult = () => {}, ...limits } = options;
  const results: UdpResult[] = [];
  let ignored = 0;
  let id = 0;
  for await (const request of requests) {
    if (request.trim() === "") continue;
    id++;
    // Only a reply with this request's id is its answer; another is late, or a stray.
    const accept = (datagram: Buffer): boolean => {
      const mine = parseDatagramReply(datagram.toString())?.id === String(id);
      if (!mine) ignored++;
      return mine;
    };
    const asking = { attempts: limits.attempts ?? 4, timeoutMs: limits.timeoutMs ?? 500, accept };
    let answer = await ask(host, port, padded(`${id} ${request}`, PAD_TO), asking);
    let reply = readReply(answer.reply);
    const needs = Number(!reply.ok && /needs (\d+) bytes/.exec(reply.message)?.[1]);
    if (needs > PAD_TO) {
      answer = await ask(host, port, padded(`${id} ${request}`, needs), asking);
      reply = readReply(answer.reply);
    }
    results.push({ request, attempts: answer.attempt, ...reply });
    onResult({ request, attempts: answer.attempt, ...reply });
  }
  return { results, ignored };
}

export type UdpResult = { request: string; attempts: number } & Reply;

export interface UdpOptions {
  host?: string;
  port?: number;
  timeoutMs?: number;
  attempts?: number;
  onResult?: (result: UdpResult) => void;
}

/** Requests are padded with spaces: the server's reply may be as long as the request. */
const PAD_TO = 128;
const padded = (text: string, size: number): string =>
  text + " ".repeat(Math.max(0, size - Buffer.byteLength(text)));

/** The reply part of an accepted datagram (accept() checked it parses). */
const readReply = (datagram: Buffer): Reply =>
  parseDatagramReply(datagram.toString())?.reply ?? { ok: false, code: "internal", message: "" };

const cli = command(
  "05-calc/05-udp-client.ts",
  "Sends CALCULATION, else each line of stdin, to the UDP calculator, one datagram each.",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 04's server here)"),
    port: flag.port(undefined, `the server's port (${UDP_PORT} with --host)`, { min: 1 }),
    "timeout-ms": flag.whole(500, "wait this long for a reply before sending again", {
      min: 1,
      max: 60_000,
    }),
    attempts: flag.whole(4, "datagrams to send before giving up", { min: 1, max: 100 }),
    json: flag.bool("print the results as one JSON document"),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "2 ^ 64" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, json, attempts, ...given } = cli.parse();
  const offline = given.host === undefined && given.port === undefined;
  const local = offline ? await startUdpServer({ port: 0, log() {} }) : undefined;
  const host = given.host ?? "127.0.0.1";
  const port = local?.udp.port ?? given.port ?? UDP_PORT;
  const say = (line: string): void => {
    if (!json) console.log(line);
  };
  if (local)
    say(`no --host/--port: started lesson 04's server in this process on ${endpoint(host, port)}`);
  if (words.length === 0)
    say("type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends");
  const show = (result: UdpResult): void => {
    const retried = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
    say(`${describe(result)}${retried}`);
  };
  try {
    const requests = words.length > 0 ? [words.join(" ").trim()] : console;
    const timeoutMs = given["timeout-ms"];
    const done = await calculateUdp(requests, { host, port, timeoutMs, attempts, onResult: show });
    if (json)
      console.log(
        JSON.stringify({ server: endpoint(host, port), local: offline, ...done }, null, 2),
      );
    else if (done.ignored > 0) say(`(ignored ${done.ignored} late or stray reply/replies)`);
  } catch (error) {
    fail(await whyConnectFailed(error, host, port, "udp"));
  }
  await local?.stop();
  process.exit(0);
}

function describe({ request, ...reply }: UdpResult): string {
  return reply.ok ? `${request} = ${reply.value}` : `${request} -> ${reply.code}: ${reply.message}`;
}
