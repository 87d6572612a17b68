/**
 * @title Welcome client
 * @summary Connect to the welcome server and print its message, reading until the server closes.
 * @run bun run 04-server/07-welcome-client.ts [--host 127.0.0.1 --port 5000] [--timeout 5] [--json]
 * @python cliente.py tcp_sockets_python.py#basic_client
 *
 * cliente.py printed what one recv(1024) returned, which is only the message if it arrived in
 * one piece and was short. This client keeps every read until the server closes the connection,
 * the welcome protocol's "end of message", and says how many reads it took. With no --host or
 * --port it starts 06-welcome-server.ts in this same process on a free port, and tells you so.
 */
import { formatEndpoint, LAB_PORT, parseCli, parsePeerHost, parsePort } from "./cli.ts";
import { startWelcomeServer } from "./06-welcome-server.ts";

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

export function fetchWelcome(
  host: string,
  port: number,
  { timeoutMs = 5_000, maxBytes = 64 * 1024 } = {},
): Promise<Welcome> {
  const server = formatEndpoint(host, port);
  const started = performance.now();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let problem: string | null = null;
  return new Promise<Welcome>((resolve, reject) => {
    const fail = (why: string): void => reject(new WelcomeError(why));
    const timer = setTimeout(() => {
      fail(
        `${server} did not send a message and close within ${timeoutMs / 1000} s: is it a welcome server?`,
      );
      connection.then((socket) => socket.terminate()).catch(() => {});
    }, timeoutMs);
    const connection = Bun.connect({
      hostname: host,
      port,
      socket: {
        data(socket, chunk) {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes <= maxBytes) return;
          problem = `${server} sent more than ${maxBytes} bytes without closing: is it a welcome server?`;
          socket.terminate();
        },
        close(_socket, error) {
          clearTimeout(timer);
          if (error)
            problem ??= `${server} broke the connection after ${bytes} bytes (${error.message})`;
          if (problem) return fail(problem);
          const message = Buffer.concat(chunks).toString("utf8");
          resolve({
            server,
            message,
            bytes,
            reads: chunks.length,
            ms: Math.round((performance.now() - started) * 10) / 10,
          });
        },
        connectError(_socket, error) {
          clearTimeout(timer);
          const code = (error as NodeJS.ErrnoException).code ?? error.message;
          if (code === "ECONNREFUSED")
            fail(
              `nothing is listening on ${server} (connection refused): start the server with "bun run 04-server/06-welcome-server.ts", or check --host and --port`,
            );
          else fail(`could not connect to ${server} (${code}): check --host and --port`);
        },
        error() {}, // failures arrive in close() with their error
      },
    });
    connection.catch(() => {}); // connectError above already reported it
  });
}

const usage = `usage: bun run 04-server/07-welcome-client.ts [--host 127.0.0.1 --port 5000] [--timeout 5] [--json]

Connects to a welcome server and prints its message. With no --host and no --port it
starts the welcome server in this process first, on 127.0.0.1 and a free port.
  --host HOST     server to connect to (default 127.0.0.1)
  --port N        its port (default 5000)
  --timeout S     give up after S seconds (default 5)
  --json          print one JSON document instead of text`;

if (import.meta.main) {
  const flags = {
    host: { type: "string" },
    port: { type: "string" },
    timeout: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  } as const;
  const options = parseCli(usage, flags, (values) => {
    const timeout = Number(values.timeout);
    if (!(timeout > 0 && timeout <= 3600))
      throw new Error(
        `--timeout must be a number of seconds above 0, at most 3600 (got "${values.timeout}")`,
      );
    return {
      host: values.host === undefined ? undefined : parsePeerHost(values.host),
      port: values.port === undefined ? undefined : parsePort(values.port, "--port", 1),
      timeoutMs: timeout * 1000,
      json: values.json,
    };
  });

  const local = options.host === undefined && options.port === undefined;
  const server = local ? startWelcomeServer("127.0.0.1", 0) : undefined;
  const host = options.host ?? "127.0.0.1";
  const port = server?.listener.port ?? options.port ?? LAB_PORT;
  if (server && !options.json)
    console.log(
      `no --host/--port given: started the welcome server (04-server/06-welcome-server.ts) in this process on ${formatEndpoint(host, port)}`,
    );
  try {
    const welcome = await fetchWelcome(host, port, { timeoutMs: options.timeoutMs });
    if (options.json)
      console.log(JSON.stringify({ ...welcome, startedLocalServer: local }, null, 2));
    else {
      const how = `${welcome.bytes} bytes in ${welcome.reads} read(s), ${welcome.ms.toFixed(1)} ms`;
      console.log(`message from ${welcome.server} (${how}, complete when the server closed):`);
      console.log(`  ${welcome.message.trimEnd()}`);
    }
  } catch (error) {
    if (!(error instanceof WelcomeError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  } finally {
    server?.listener.stop(true);
  }
}
