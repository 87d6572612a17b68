/**
 * @title Send a request
 * @summary Write an HTTP GET request by hand: request line, Host, Connection: close, empty line.
 * @run bun run 03-http-client/03-send-request.ts [--host HOST] [--port PORT] [--path /] [--json]
 * @python socket-04.py
 *
 * An HTTP/1.1 request is text in lines that end with CRLF (\r\n): the request line, a Host
 * header (one address serves many sites), and an empty line for "that is all". We also ask
 * for `Connection: close`: otherwise the server keeps the connection open for a next
 * request, and "read until the end" (next lesson) never ends. And sending is a loop, like
 * Python's sendall(): write() may take less than it was given, the rest waits for `drain`.
 */
import type { Socket } from "bun";
import { command, connect, fail, flag, startServer } from "../lib/cli.ts";
import { UsageError, whyConnectFailed } from "../lib/cli.ts";
import { LineReader } from "../lib/stream.ts";

/** Connects, sends `request` with sendAll, and resolves with the first line of the reply. */
export async function sendRequest(host: string, port: number, request: string) {
  const reader = new LineReader(8192);
  const firstLine = Promise.withResolvers<string>();
  // Awaited once the request is sent: a close before then must not count as unhandled.
  firstLine.promise.catch(() => {});
  let wake = (_open: boolean): void => {};
  const socket = await connect(host, port, {
    // The line may come in pieces: the reader keeps them until its "\n".
    data(_socket, chunk) {
      for (const line of reader.push(chunk)) firstLine.resolve(line);
      if (reader.tooLong) firstLine.reject(new Error("the reply's first line is over 8 KiB"));
    },
    drain: () => wake(true),
    close() {
      wake(false);
      firstLine.reject(new Error("the server closed the connection without a reply"));
    },
  });
  const drained = (): Promise<boolean> =>
    new Promise((resolve) => {
      wake = resolve;
    });
  try {
    const sent = await sendAll(socket, Buffer.from(request, "latin1"), drained);
    return { ...sent, firstLine: await firstLine.promise };
  } finally {
    socket.end();
  }
}

/**
 * Like Python's sendall(): writes until every byte is taken. When the kernel's send buffer
 * is full, `drained()` waits for room (true), or for the close (false).
 */
export async function sendAll(
  socket: Socket<undefined>,
  data: Uint8Array,
  drained: () => Promise<boolean>,
) {
  let rest = data;
  let writes = 0;
  let waits = 0;
  for (;;) {
    const written = socket.write(rest);
    writes++;
    if (written < 0) throw new Error("the server closed the connection while we were sending");
    rest = rest.subarray(written);
    if (rest.length === 0) return { writes, waits };
    waits++;
    if (!(await drained()))
      throw new Error("the server closed the connection while we were sending");
  }
}

/** The request head, byte for byte. `defaultPort` is the scheme's, which Host leaves out. */
export function buildRequest({ method = "GET", host, port, path = "/", defaultPort = 80 }: Target) {
  // An IPv6 address goes in brackets, to keep it apart from the port.
  const name = host.includes(":") ? `[${host}]` : host;
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${port === defaultPort ? name : `${name}:${port}`}`,
    "User-Agent: sockets-lab/1.0",
    "Accept: */*",
    "Connection: close",
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

type Target = { method?: string; host: string; port: number; path?: string; defaultPort?: number };

/** A path for the request line: starts with /, no spaces or control characters. */
export function checkPath(path: string): string {
  if (/^\/[\x21-\x7e]*$/.test(path)) return path;
  throw new UsageError(
    `--path must start with / and hold no spaces or control characters (got "${path}")`,
  );
}

const PRACTICE = new URL("09-practice-server.ts", import.meta.url).href;

if (import.meta.main) {
  const cli = command("03-http-client/03-send-request.ts", "Sends a GET written by hand.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    path: flag.text("/", "what to ask for", "PATH", checkPath),
    json: flag.bool("print one JSON document instead of text"),
  });
  const args = cli.parse();
  const practice = args.host || args.port ? undefined : await startServer(PRACTICE);
  if (practice && !args.json)
    console.log(`(no --host: started the practice server on 127.0.0.1:${practice.port})`);
  const host = practice?.host ?? args.host ?? "127.0.0.1";
  const port = practice?.port ?? args.port ?? 80;
  const request = buildRequest({ host, port, path: args.path });
  const { writes, waits, firstLine } = await sendRequest(host, port, request).catch(async (error) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  await practice?.stop();
  const bytes = request.length;
  if (args.json) console.log(JSON.stringify({ request, bytes, writes, waits, firstLine }, null, 2));
  else
    console.log(`${request.replaceAll("\r\n", "\\r\\n\n")}
sent ${bytes} bytes in ${writes} write(s), after ${waits} wait(s) for drain
the server's first line: ${firstLine}`);
}
