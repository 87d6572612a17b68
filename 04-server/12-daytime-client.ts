/**
 * @title Daytime client
 * @summary Ask any daytime server (RFC 867) for the time: over TCP read until it closes, over UDP send a padded datagram and retry on silence.
 * @run bun run 04-server/12-daytime-client.ts [--protocol tcp|udp] [--host HOST] [--port PORT] [--json]
 * @python tcp_sockets_python.py#daytime_client
 *
 * Over TCP the answer ends when the server closes: one recv(1024), as in the lab, may get
 * half a line. Over UDP a lost datagram is silence: `ask()` (lib/udp.ts) waits a second and
 * asks again, 3 times, and takes a reply only from the server. The request is padded to 64
 * bytes, so a careful server can answer without sending more than it got. With no --host and
 * no --port it asks lesson 11's server, started in this process.
 */
import { command, connect, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { startDaytimeServer } from "./11-daytime-server.ts";
import { DAYTIME_REQUEST } from "./protocol.ts";

/** TCP: connect, then keep every byte until the server closes. */
export async function overTcp(host: string, port: number, timeoutMs: number): Promise<Buffer> {
  const where = `${endpoint(host, port)} (tcp)`;
  const chunks: Buffer[] = [];
  let bytes = 0;
  const answer = Promise.withResolvers<Buffer>();
  const connecting = connect(
    host,
    port,
    {
      data(socket, chunk) {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes <= MAX_ANSWER_BYTES) return;
        answer.reject(
          new Error(`${where} sent over ${MAX_ANSWER_BYTES} bytes: not a daytime server`),
        );
        socket.terminate();
      },
      // The server closing the connection is what says "that was the whole answer".
      close() {
        answer.resolve(Buffer.concat(chunks));
      },
      error() {},
    },
    timeoutMs,
  );
  const socket = await connecting.catch(async (error: unknown) => {
    throw new Error(await whyConnectFailed(error, host, port));
  });
  const timer = setTimeout(() => {
    answer.reject(new Error(`${where} did not finish its answer in ${timeoutMs} ms`));
    socket.terminate();
  }, timeoutMs);
  try {
    return await answer.promise;
  } finally {
    clearTimeout(timer);
  }
}

/** More than this is not one line of time: something else answers there. */
const MAX_ANSWER_BYTES = 4096;

/** UDP: a padded request, sent again after each second of silence, 3 times. */
export async function overUdp(host: string, port: number, waitMs: number) {
  try {
    return await ask(host, port, DAYTIME_REQUEST, { timeoutMs: waitMs });
  } catch (error) {
    throw new Error(await whyConnectFailed(error, host, port, "udp"));
  }
}

/** Asks over TCP (read to the close) or UDP (3 tries); rejects with one sentence. */
export async function askDaytime(
  protocol: "tcp" | "udp",
  host: string,
  port: number,
  waitMs = 1_000,
) {
  const started = performance.now();
  const { reply, attempt } =
    protocol === "tcp"
      ? { reply: await overTcp(host, port, 5 * waitMs), attempt: 1 }
      : await overUdp(host, port, waitMs);
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  const time = reply.toString("latin1").trim();
  return { protocol, host, port, time, bytes: reply.length, ms, attempts: attempt };
}

const cli = command(
  "04-server/12-daytime-client.ts",
  "Asks a daytime server (RFC 867); with no --host or --port, lesson 11's, started here.",
  {
    protocol: flag.choice(
      ["tcp", "udp"],
      "tcp",
      "tcp reads one line until the close; udp sends a padded datagram",
    ),
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 13, the standard daytime port)", { min: 1 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { protocol, host, port, json } = cli.parse();
  const local =
    host === undefined && port === undefined
      ? await startDaytimeServer("127.0.0.1", 0, { protocols: [protocol] })
      : undefined;
  const target = {
    host: host ?? "127.0.0.1",
    port: (local?.tcp ?? local?.udp)?.port ?? port ?? 13,
  };
  if (local && !json) console.log("no --host or --port given: started lesson 11's server here");
  try {
    const answer = await askDaytime(protocol, target.host, target.port);
    const { bytes, ms, attempts } = answer;
    if (json) console.log(JSON.stringify(answer, null, 2));
    else {
      console.log(`${endpoint(target.host, target.port)} (${protocol}) says: ${answer.time}`);
      console.log(`  ${bytes} bytes in ${ms} ms, answered on try ${attempts}`);
    }
  } catch (error) {
    fail((error as Error).message);
  } finally {
    local?.stop();
  }
}
