/**
 * @title UDP calculator client
 * @summary Ask over UDP with an id per request, resend on silence, and never take a late reply for the current one.
 * @run bun run 05-calc/04-udp-client.ts [--host 127.0.0.1 --port 65433] [--timeout-ms 500] [--attempts 4] [--json] ["2 ^ 64"]
 * @python udp/client_calc.py
 *
 * UDP promises nothing: a request or its reply may vanish, so the client waits `--timeout-ms`
 * and sends again, up to `--attempts` times. A reply that comes after we gave up on it may
 * arrive while we wait for the next request's; the id tells them apart. Requests are padded
 * to 128 bytes so that errors fit (replies are never bigger than requests); a bigger result
 * comes back as `ERR reply-too-large: needs N bytes` and the client asks again, padded to N.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { describe } from "./02-tcp-client.ts";
import { startUdpServer } from "./03-udp-server.ts";
import { commandLine, endpoint, parseFlag, parsePort, reason } from "./command-line.ts";
import { parseDatagramReply, type Reply, UDP_PORT } from "./protocol.ts";

export type UdpResult = { request: string; attempts: number } & Reply;

const PAD_TO = 128;
const pad = (text: string, size: number): string =>
  text + " ".repeat(Math.max(0, size - Buffer.byteLength(text)));

interface UdpClientOptions {
  host: string;
  port: number;
  timeoutMs: number;
  attempts: number;
  onResult: (result: UdpResult) => void;
}

export async function calculateUdp(
  requests: Iterable<string> | AsyncIterable<string>,
  options: Partial<UdpClientOptions> = {},
): Promise<{ results: UdpResult[]; ignored: number }> {
  const { host = "127.0.0.1", port = UDP_PORT, timeoutMs = 500, attempts = 4 } = options;
  // send() takes IP addresses: resolve a name once, up front.
  const address = isIP(host) ? host : (await lookup(host)).address;
  const results: UdpResult[] = [];
  let ignored = 0; // replies that were not the answer we were waiting for
  let waiting: { id: string; settle: (reply: Reply | Error | null) => void } | null = null;
  const socket = await Bun.udpSocket({
    hostname: isIP(address) === 6 ? "::" : "0.0.0.0",
    socket: {
      data(_socket, datagram, fromPort) {
        const parsed = parseDatagramReply(datagram.toString());
        if (!waiting || !parsed || parsed.id !== waiting.id || fromPort !== port) ignored++;
        else waiting.settle(parsed.reply);
      },
      // The kernel heard "port unreachable" (ICMP): no UDP server there, no point resending.
      error() {
        waiting?.settle(new Error("nothing listens there: the host answered port unreachable"));
      },
    },
  });
  const ask = (id: string, payload: string): Promise<Reply | Error | null> =>
    new Promise((resolve) => {
      socket.send(payload, port, address); // first: if it throws (no route), no timer is left
      const timer = setTimeout(() => resolve(null), timeoutMs);
      waiting = { id, settle: (reply) => (clearTimeout(timer), resolve(reply)) };
    });
  try {
    let nextId = 1;
    for await (const request of requests) {
      if (request.trim() === "") continue;
      const id = String(nextId++);
      let [size, tries, reply] = [PAD_TO, 0, null as Reply | null];
      while (!reply && tries < attempts) {
        tries++;
        const got = await ask(id, pad(`${id} ${request}`, size));
        if (got instanceof Error) throw got;
        const needs = Number(got?.ok === false && /needs (\d+) bytes/.exec(got.message)?.[1]);
        if (needs > size)
          [size, tries] = [needs, tries - 1]; // padded again: not a retry
        else reply = got;
      }
      waiting = null;
      if (!reply) {
        throw new Error(
          `no reply after ${attempts} attempts of ${timeoutMs} ms: is a server there?`,
        );
      }
      results.push({ request, attempts: tries, ...reply });
      options.onResult?.({ request, attempts: tries, ...reply });
    }
    return { results, ignored };
  } finally {
    socket.close();
  }
}

const usage = `usage: bun run 05-calc/04-udp-client.ts [--host H --port P] [--timeout-ms 500] [--attempts 4] [--json] [CALCULATION]
Sends CALCULATION (e.g. "2 ^ 64", quoted; " -5 + 3" with a space first), else each line of
stdin, to the UDP calculator, one datagram each, resending after --timeout-ms of silence.
With no --host/--port it starts a UDP calculator server in this process.`;

if (import.meta.main) {
  const { values, positionals, ...limits } = commandLine(usage, () => {
    const parsed = parseArgs({
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "timeout-ms": { type: "string", default: "500" },
        attempts: { type: "string", default: "4" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    if (parsed.values.port !== undefined) parsePort(parsed.values.port);
    const timeoutMs = parseFlag("timeout-ms", parsed.values["timeout-ms"], 1, 60_000);
    return {
      ...parsed,
      timeoutMs,
      attempts: parseFlag("attempts", parsed.values.attempts, 1, 100),
    };
  });
  const host = values.host ?? "127.0.0.1";
  const local = (values.host ?? values.port) ? null : await startUdpServer({ port: 0, log() {} });
  const port = local?.port ?? parsePort(values.port ?? String(UDP_PORT));
  const server = endpoint(host, port);
  if (local && !values.json)
    console.log(`no --host/--port: started a UDP server in this process on ${server}`);
  try {
    const onResult = (result: UdpResult): void => {
      const retried = result.attempts > 1 ? ` (${result.attempts} attempts)` : "";
      if (!values.json) console.log(describe(result) + retried);
    };
    const requests = positionals.length > 0 ? [positionals.join(" ")] : console;
    const { results, ignored } = await calculateUdp(requests, { host, port, ...limits, onResult });
    if (values.json)
      console.log(JSON.stringify({ server, local: !!local, ignored, results }, null, 2));
    else if (ignored > 0) console.log(`(ignored ${ignored} late or stray reply/replies)`);
  } catch (error) {
    console.error(`${server} (udp): ${reason(error)}`);
    process.exit(1);
  } finally {
    await local?.stop();
  }
  process.exit(0);
}
