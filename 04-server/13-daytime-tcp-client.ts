/**
 * @title Daytime client over TCP
 * @summary Ask any daytime server (RFC 867) for the time over TCP, reading until it closes.
 * @run bun run 04-server/13-daytime-tcp-client.ts [--host HOST] [--port PORT] [--timeout 5] [--json]
 * @python tcp_sockets_python.py#daytime_client
 *
 * The lab's client called recv(1024) once, which may return half a line. The answer ends when
 * the server closes the connection, so this client keeps every byte until then; more than
 * 4096 bytes is not a line of time, and it says so. With no --host and no --port it asks
 * lesson 12's server, started for this run.
 */
import { command, connect, endpoint, fail, flag, peerOrStart } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";

/** Connects, then keeps every byte until the server closes; rejects with one sentence. */
export async function askDaytime(host: string, port: number, timeoutMs = 5_000) {
  const where = `${endpoint(host, port)} (tcp)`;
  const started = performance.now();
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
      close: () => answer.resolve(Buffer.concat(chunks)),
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
  const reply = await answer.promise.finally(() => clearTimeout(timer));
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  return { host, port, time: reply.toString("latin1").trim(), bytes: reply.length, ms };
}

/** More than this is not one line of time: something else answers there. */
const MAX_ANSWER_BYTES = 4096;

const cli = command("04-server/13-daytime-tcp-client.ts", "Asks a daytime server over TCP.", {
  host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
  port: flag.port(undefined, "its port (default 13; neither flag: lesson 12's)", { min: 1 }),
  timeout: flag.decimal(5, "give up after this many seconds", { min: 0.001, max: 3600 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const { host, port, timeout, json } = cli.parse();
  const serverFile = `${import.meta.dir}/12-daytime-tcp-server.ts`;
  const peer = await peerOrStart({ host, port }, { serverFile, defaultPort: 13 });
  const asking = askDaytime(peer.host, peer.port, timeout * 1000);
  const answer = await asking.catch((error: Error) => fail(error.message));
  await peer.local?.stop();
  if (json) console.log(JSON.stringify(answer));
  else {
    console.log(`${endpoint(answer.host, answer.port)} (tcp) says: ${answer.time}`);
    console.log(`  ${answer.bytes} bytes in ${answer.ms} ms, complete when the server closed`);
  }
}
