/**
 * @title UDP calculator client
 * @summary Ask over UDP with an id per request, resend on silence, and never take a late reply for the current one.
 * @run bun run 05-calc/05-udp-client.ts [CALCULATION] [--host HOST] [--port PORT] [--timeout-ms 500] [--attempts 4] [--json]
 * @python udp/client_calc.py
 *
 * UDP promises nothing: a request or its reply may vanish, so `ask()` (lib/udp.ts) waits
 * `--timeout-ms` and sends again, up to `--attempts` times. A reply to an earlier request
 * may still arrive while we wait for this one's: the id tells them apart. Requests are
 * padded to 128 bytes so that errors fit (a reply is never bigger than its request); a
 * bigger result comes back as `ERR reply-too-large: needs N bytes`, and the client asks
 * again, padded to N. With no --host/--port it starts lesson 04's server.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { PADDED_TO, padded, parseDatagramReply, type Reply, UDP_PORT } from "./protocol.ts";

/** Asks each request in turn; resolves with the results and how many stray replies came. */
export async function calculateUdp(
  requests: Iterable<string> | AsyncIterable<string>,
  { host = "127.0.0.1", port = UDP_PORT, timeoutMs = 500, attempts = 4, onResult = quiet } = {},
) {
  const results: UdpResult[] = [];
  let ignored = 0;
  let id = 0;
  for await (const request of requests) {
    if (request.trim() === "") continue;
    id++;
    // Only a reply with this request's id is its answer; another is late, or a stray.
    let reply: Reply | undefined;
    const accept = (datagram: Buffer): boolean => {
      const parsed = parseDatagramReply(datagram.toString());
      if (parsed?.id === String(id)) reply = parsed.reply;
      else ignored++;
      return reply !== undefined;
    };
    const asking = { attempts, timeoutMs, accept };
    let answer = await ask(host, port, padded(`${id} ${request}`), asking);
    // Too big for the padding: the server said how much it needs.
    const needs = Number(reply?.ok === false && /needs (\d+) bytes/.exec(reply.message)?.[1]);
    if (needs > PADDED_TO) {
      reply = undefined;
      answer = await ask(host, port, padded(`${id} ${request}`, needs), asking);
    }
    const result = { request, attempts: answer.attempt, ...(reply as Reply) };
    results.push(result);
    onResult(result);
  }
  return { results, ignored };
}

export type UdpResult = { request: string; attempts: number } & Reply;
const quiet = (_: UdpResult): void => {};

function show({ request, attempts, ...reply }: UdpResult): void {
  const result = reply.ok ? `= ${reply.value}` : `-> ${reply.code}: ${reply.message}`;
  console.log(`${request} ${result}${attempts > 1 ? ` (${attempts} attempts)` : ""}`);
}

const cli = command(
  "05-calc/05-udp-client.ts",
  "Sends CALCULATION, else each line of stdin, to the UDP calculator, one datagram each.",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 04's server)"),
    port: flag.port(undefined, `the server's port (${UDP_PORT} with --host)`, { min: 1 }),
    "timeout-ms": flag.whole(500, "wait this long for a reply, then resend", { min: 1, max: 6e4 }),
    attempts: flag.whole(4, "datagrams to send before giving up", { min: 1, max: 100 }),
    json: flag.bool("print the results as one JSON document"),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "2 ^ 64" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, json, attempts, "timeout-ms": timeoutMs, ...given } = cli.parse();
  const serverFile = new URL("./04-udp-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(given, { serverFile, defaultPort: UDP_PORT });
  if (words.length === 0 && !json)
    console.log("type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends");
  const requests = words.length > 0 ? [words.join(" ").trim()] : console;
  const onResult = json ? quiet : show;
  try {
    const done = await calculateUdp(requests, { host, port, timeoutMs, attempts, onResult });
    const server = endpoint(host, port);
    if (json) console.log(JSON.stringify({ server, local: local !== undefined, ...done }, null, 2));
    else if (done.ignored > 0) console.log(`(ignored ${done.ignored} late or stray reply/replies)`);
  } catch (error) {
    fail(await whyConnectFailed(error, host, port, "udp"));
  }
  await local?.stop();
  process.exit(0);
}
