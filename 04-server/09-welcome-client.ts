/**
 * @title Welcome client
 * @summary Connect to the welcome server and print its message, reading until the server closes.
 * @run bun run 04-server/09-welcome-client.ts [--host HOST] [--port PORT] [--timeout 5] [--json]
 * @python cliente.py tcp_sockets_python.py#basic_client
 *
 * cliente.py printed what one recv(1024) returned: the message only if it arrived in one
 * piece and was short. This client keeps every read until the server closes the connection,
 * the welcome protocol's "end of message", and says how many reads that took. With no --host
 * and no --port it starts lesson 08's server in this same process, on a free port.
 */
import { command, connect, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { startWelcomeServer } from "./08-welcome-server.ts";

/** Reads until the server closes the connection; rejects with a WelcomeError sentence. */
export async function fetchWelcome(
  host: string,
  port: number,
  timeoutMs = 5_000,
  maxBytes = 65_536,
) {
  const server = endpoint(host, port);
  const started = performance.now();
  const chunks: Buffer[] = [];
  let bytes = 0;
  const done = Promise.withResolvers<Welcome>();
  const failed = (why: string) => done.reject(new WelcomeError(`${server} ${why}`));
  const socket = await connect(
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
        const message = Buffer.concat(chunks).toString("utf8");
        const ms = Math.round((performance.now() - started) * 10) / 10;
        done.resolve({ server, message, bytes, reads: chunks.length, ms });
      },
      error() {},
    },
    timeoutMs,
  ).catch(async (error: unknown) => {
    throw new WelcomeError(await whyConnectFailed(error, host, port));
  });
  const seconds = timeoutMs / 1000;
  const late = `did not send a message and close within ${seconds} s: is it a welcome server?`;
  const timer = setTimeout(() => {
    failed(late);
    socket.terminate();
  }, timeoutMs);
  try {
    return await done.promise;
  } finally {
    clearTimeout(timer);
  }
}

export interface Welcome {
  server: string;
  message: string;
  bytes: number;
  /** How many `data` events the message arrived in: TCP keeps no message boundaries. */
  reads: number;
  ms: number;
}

/** An expected failure, worded for the person running the client. */
export class WelcomeError extends Error {}

const cli = command(
  "04-server/09-welcome-client.ts",
  "Prints a welcome server's message; with no --host or --port, lesson 08's, started here.",
  {
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 5000)", { min: 1 }),
    timeout: flag.decimal(5, "give up after this many seconds", { min: 0.001, max: 3600 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { host, port, timeout, json } = cli.parse();
  const local =
    host === undefined && port === undefined ? startWelcomeServer("127.0.0.1", 0) : undefined;
  const target = { host: host ?? "127.0.0.1", port: local?.tcp.port ?? port ?? 5000 };
  const where = endpoint(target.host, target.port);
  if (local && !json)
    console.log(
      `no --host/--port given: started the welcome server (lesson 08) in this process on ${where}`,
    );
  try {
    const welcome = await fetchWelcome(target.host, target.port, timeout * 1000);
    if (json)
      console.log(JSON.stringify({ ...welcome, startedLocalServer: local !== undefined }, null, 2));
    else {
      const how = `${welcome.bytes} bytes in ${welcome.reads} read(s), ${welcome.ms} ms`;
      console.log(`message from ${welcome.server} (${how}, complete when the server closed):`);
      console.log(`  ${welcome.message.trimEnd()}`);
    }
  } catch (error) {
    if (!(error instanceof WelcomeError)) throw error;
    fail(error.message);
  } finally {
    local?.stop();
  }
}
