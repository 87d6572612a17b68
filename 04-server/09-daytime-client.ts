/**
 * @title Daytime client
 * @summary Ask any daytime server (RFC 867) for the time: over TCP read until it closes, over UDP send one datagram and retry on silence.
 * @run bun run 04-server/09-daytime-client.ts [--protocol tcp|udp] [--host HOST] [--port 13] [--json]
 * @python tcp_sockets_python.py#daytime_client
 *
 * With no --host or --port it asks lesson 08's server, started in this process. Over TCP the
 * answer ends when the server closes (one `recv(1024)`, as in the lab, may get half a line).
 * Over UDP a lost datagram is silence: wait a second, ask again, 3 times; trust only the server.
 */
import { lookup } from "node:dns/promises";
import { formatEndpoint } from "./01-bind.ts";
import { parseCli, parsePort, type Protocol, startDaytimeServer } from "./08-daytime-server.ts";

/** More than this is not one line of time: something else answers on that port. */
const MAX_ANSWER_BYTES = 4096;

/** The failures a student meets, in one sentence with what to do; lessons 11-14 use it too. */
export function explainFailure(error: unknown, host: string, port: number, protocol: Protocol) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOTFOUND") return `cannot find the host '${host}': check the name.`;
  const where = `${formatEndpoint(host, port)} (${protocol})`;
  if (code === "ECONNREFUSED")
    return `${where} refused: nothing listens there (check the port, or start the server first).`;
  if (code === "EMSGSIZE") return `${where}: a datagram carries at most 65507 bytes; send less.`;
  return `${where} failed: ${(error as Error).message}; check the address and your network.`;
}

function overTcp(host: string, port: number, timeoutMs: number) {
  const [where, chunks]: [string, Buffer[]] = [formatEndpoint(host, port), []];
  let bytes = 0;
  return new Promise<{ reply: Buffer; attempts: number }>((resolve, reject) => {
    const fail = (why: string): void => (clearTimeout(timer), reject(new Error(why)));
    const failed = (error: unknown): void => fail(explainFailure(error, host, port, "tcp"));
    const late = `${where} (tcp) did not finish its answer in ${timeoutMs} ms.`;
    const timer = setTimeout(fail, timeoutMs, late);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        data(socket, chunk) {
          chunks.push(chunk);
          if ((bytes += chunk.length) <= MAX_ANSWER_BYTES) return;
          fail(`${where} (tcp) sent over ${MAX_ANSWER_BYTES} bytes: not a daytime server.`);
          socket.terminate();
        },
        // The server closing the connection is what says "that was the whole answer".
        close: () => (clearTimeout(timer), resolve({ reply: Buffer.concat(chunks), attempts: 1 })),
        connectError: (_socket, error) => failed(error),
        error: (_socket, error) => failed(error),
      },
    }).catch(failed);
  });
}

/**
 * A UDP socket for talking to one server: `request()` sends a datagram and waits `waitMs` for
 * a reply that `accept` takes, sending again up to `attempts` times. Lessons 11 and 13 use it too.
 */
export async function openUdpClient(host: string, port: number, attempts = 3, waitMs = 1_000) {
  const explain = (error: unknown) => new Error(explainFailure(error, host, port, "udp"));
  // send() needs an IP address, so resolve the name first (the system resolver, like connect).
  const { address, family } = await lookup(host).catch((e: unknown) => Promise.reject(explain(e)));
  let settle: (reply: Buffer | Error) => void = () => {};
  const socket = await Bun.udpSocket({
    hostname: family === 6 ? "::" : "0.0.0.0",
    socket: {
      data(_socket, datagram, peerPort, peerAddress) {
        // Anyone can send us a datagram; only the server's reply counts.
        if (peerPort === port && peerAddress === address) settle(datagram);
      },
      // An ICMP "port unreachable" arrives here as ECONNREFUSED: nobody listens there.
      error: (error) => settle(explain(error)),
    },
  });
  async function request(payload: string | Uint8Array, accept = (_reply: Buffer) => true) {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const reply = await new Promise<Buffer | Error | undefined>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        settle = (result) => {
          if (result instanceof Error || accept(result)) (clearTimeout(timer), resolve(result));
        };
        socket.send(payload, port, address); // it throws if the datagram cannot be sent
      }).catch(explain);
      if (reply instanceof Error) throw reply;
      if (reply) return { reply, attempts: attempt };
    }
    throw new Error(
      `${formatEndpoint(host, port)} (udp) did not answer ${attempts} datagrams ${waitMs} ms apart: is the server running, or does a firewall drop UDP?`,
    );
  }
  return { request, close: () => socket.close() };
}

/** Asks once over TCP (5 waits at most), or up to 3 times over UDP; rejects with one sentence. */
export async function askDaytime(protocol: Protocol, host: string, port: number, waitMs = 1_000) {
  const started = performance.now();
  const udp = protocol === "udp" ? await openUdpClient(host, port, 3, waitMs) : undefined;
  // Over UDP, RFC 867 asks for "a datagram with anything in it"; the reply is the time.
  const { reply, attempts } = await (udp?.request("\n").finally(udp.close) ??
    overTcp(host, port, 5 * waitMs));
  const [time, ms] = [reply.toString("latin1").trim(), performance.now() - started];
  return { protocol, host, port, time, bytes: reply.length, ms, attempts };
}

const usage = `usage: bun run 04-server/09-daytime-client.ts [--protocol tcp|udp] [--host HOST] [--port 13] [--json]

Asks a daytime server (RFC 867) for the time. With neither --host nor --port it starts
lesson 08's daytime server in this process on a free port and asks it.
  --protocol  tcp (default) or udp
  --host      server's name or address (default 127.0.0.1)
  --port      server's port (default 13, the standard daytime port)
  --json      print one JSON document instead of text`;

if (import.meta.main) {
  const options = parseCli(
    usage,
    {
      protocol: { type: "string", default: "tcp" },
      host: { type: "string" },
      port: { type: "string" },
      json: { type: "boolean", default: false },
    },
    (values) => {
      if (values.protocol !== "tcp" && values.protocol !== "udp")
        throw new Error(`--protocol must be tcp or udp (got "${values.protocol}")`);
      const port = values.port === undefined ? undefined : parsePort(values.port);
      return { ...values, protocol: values.protocol as Protocol, port };
    },
  );
  const { protocol, json } = options;
  const local = options.host === undefined && options.port === undefined;
  const server = local ? await startDaytimeServer({ port: 0, protocols: [protocol] }) : undefined;
  const host = options.host ?? "127.0.0.1";
  const port = (server ? (server.tcp ?? server.udp)?.port : options.port) ?? 13;
  if (server && !json) console.log(`no --host or --port given: started lesson 08's server here`);
  try {
    const answer = await askDaytime(protocol, host, port);
    if (json) console.log(JSON.stringify(answer, null, 2));
    else console.log(`${formatEndpoint(host, port)} (${protocol}) says: ${answer.time}`);
    const { bytes, ms, attempts } = answer;
    if (!json) console.log(`  ${bytes} bytes in ${ms.toFixed(1)} ms, answered on try ${attempts}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  } finally {
    server?.stop();
  }
}
