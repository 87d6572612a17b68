/**
 * @title Welcome client
 * @summary Connect to the welcome server and print its message, reading until the server closes.
 * @run bun run 04-server/10-welcome-client.ts [--host HOST] [--port PORT] [--timeout 5] [--json]
 * @python cliente.py tcp_sockets_python.py#basic_client
 *
 * cliente.py printed one recv(1024): the message only if it came in one piece. This client
 * keeps every read until the server closes the connection (the protocol's "end of message")
 * and says how many reads it took. With no --host or --port it starts lesson 09's server.
 */
import { command, connect, endpoint, fail, flag } from "../lib/cli.ts";
import { peerOrStart, whyConnectFailed } from "../lib/cli.ts";

/** Reads until the server closes the connection; rejects with one sentence. */
export async function fetchWelcome(host: string, port: number, timeoutMs = 5000, maxBytes = 65536) {
  const server = endpoint(host, port);
  const started = performance.now();
  const chunks: Buffer[] = [];
  let bytes = 0;
  const done = Promise.withResolvers<Welcome>();
  const failed = (why: string) => done.reject(new Error(`${server} ${why}`));
  const connecting = connect(
    host,
    port,
    {
      data(socket, chunk) {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes <= maxBytes) return;
        failed(`sent more than ${maxBytes} bytes without closing: is it a welcome server?`);
        socket.terminate();
      },
      // The server closing the connection is what says "that was the whole message".
      close(_socket, error) {
        if (error) failed(`broke the connection after ${bytes} bytes (${error.message})`);
        const ms = Math.round((performance.now() - started) * 10) / 10;
        const message = Buffer.concat(chunks).toString("utf8");
        done.resolve({ server, message, bytes, reads: chunks.length, ms });
      },
      error() {},
    },
    timeoutMs,
  );
  const socket = await connecting.catch(async (error: unknown) => {
    throw new Error(await whyConnectFailed(error, host, port));
  });
  const late = `did not send a message and close within ${timeoutMs / 1000} s`;
  const timer = setTimeout(() => {
    failed(`${late}: is it a welcome server?`);
    socket.terminate();
  }, timeoutMs);
  return done.promise.finally(() => clearTimeout(timer));
}

/** The message, and how it came: `reads` is how many `data` events it took. */
export type Welcome = { server: string; message: string; bytes: number; reads: number; ms: number };

const cli = command("04-server/10-welcome-client.ts", "Prints a welcome server's message.", {
  host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
  port: flag.port(undefined, "its port (default 5000; neither flag: lesson 09's)", { min: 1 }),
  timeout: flag.decimal(5, "give up after this many seconds", { min: 0.001, max: 3600 }),
  json: flag.bool("print one JSON document instead of text"),
});

if (import.meta.main) {
  const { host, port, timeout, json } = cli.parse();
  const serverFile = `${import.meta.dir}/09-welcome-server.ts`;
  const peer = await peerOrStart({ host, port }, { serverFile, defaultPort: 5000 });
  const fetching = fetchWelcome(peer.host, peer.port, timeout * 1000);
  const welcome = await fetching.catch((error: Error) => fail(error.message));
  await peer.local?.stop();
  const { server, bytes, reads, ms, message } = welcome;
  const how = `${bytes} bytes in ${reads} read(s), ${ms} ms, complete when the server closed`;
  if (json) console.log(JSON.stringify({ ...welcome, startedLocalServer: Boolean(peer.local) }));
  else console.log(`message from ${server} (${how}):\n  ${message.trimEnd()}`);
}
