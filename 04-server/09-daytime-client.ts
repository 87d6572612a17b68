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
import {
  CLIENT_FLAGS,
  checkClientFlags,
  explainClientError,
  formatEndpoint,
  parseCli,
  type Protocol,
} from "./cli.ts";
import { startDaytimeServer } from "./08-daytime-server.ts";

const MAX_ANSWER_BYTES = 4096; // more is not one line of time: something else answers there

/** TCP: connect, then keep every byte until the server closes; give up after `timeoutMs`. */
function overTcp(host: string, port: number, timeoutMs: number) {
  const where = `${formatEndpoint(host, port)} (tcp)`;
  const chunks: Buffer[] = [];
  let bytes = 0;
  return new Promise<{ reply: Buffer; attempts: number }>((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(why));
      // A socket left open, or a connect still pending, would keep this process running.
      connecting.then((socket) => socket.terminate()).catch(() => {});
    };
    const failed = (error: unknown): void => fail(explainClientError(error, host, port, "tcp"));
    const late = `${where} did not finish its answer in ${timeoutMs} ms.`;
    const timer = setTimeout(() => fail(late), timeoutMs);
    const connecting = Bun.connect({
      hostname: host,
      port,
      socket: {
        data(_socket, chunk) {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes > MAX_ANSWER_BYTES)
            fail(`${where} sent over ${MAX_ANSWER_BYTES} bytes: not a daytime server.`);
        },
        // The server closing the connection is what says "that was the whole answer".
        close() {
          clearTimeout(timer);
          resolve({ reply: Buffer.concat(chunks), attempts: 1 });
        },
        error: (_socket, error) => failed(error),
      },
    });
    connecting.catch(failed); // refused, unknown host: the connect itself fails
  });
}

/**
 * A UDP socket for talking to one server: `request()` sends a datagram and waits `waitMs` for
 * a reply that `accept` takes, sending again up to `attempts` times. Lessons 11 and 13 use it too.
 */
export async function openUdpClient(host: string, port: number, attempts = 3, waitMs = 1_000) {
  const explain = (error: unknown) => new Error(explainClientError(error, host, port, "udp"));
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
        socket.send(payload, port, address); // throws at once if it cannot go: too big, bad address
        const timer = setTimeout(resolve, waitMs); // silence: send it again
        settle = (result) => {
          if (!(result instanceof Error) && !accept(result)) return; // not the reply we want
          clearTimeout(timer);
          resolve(result);
        };
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

/** Asks over TCP (read to the close) or over UDP (3 tries); rejects with one sentence. */
export async function askDaytime(protocol: Protocol, host: string, port: number, waitMs = 1_000) {
  const started = performance.now();
  let answer: { reply: Buffer; attempts: number };
  if (protocol === "tcp") answer = await overTcp(host, port, 5 * waitMs);
  else {
    const udp = await openUdpClient(host, port, 3, waitMs);
    try {
      answer = await udp.request("\n"); // RFC 867: "a datagram with anything in it"
    } finally {
      udp.close();
    }
  }
  const { reply, attempts } = answer;
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
  const options = parseCli(usage, CLIENT_FLAGS, checkClientFlags);
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
