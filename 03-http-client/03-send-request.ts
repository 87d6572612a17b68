/**
 * @title Send a request
 * @summary Write an HTTP GET request by hand: request line, Host, Connection: close, empty line.
 * @run bun run 03-http-client/03-send-request.ts [--host example.com] [--port 80] [--path /] [--json]
 * @python socket-04.py
 *
 * An HTTP/1.1 request is text in lines that end with CRLF (\r\n): the request line, a Host
 * header (one address serves many sites), and an empty line for "that is all". We also ask
 * for `Connection: close`: otherwise the server keeps the connection open for a next
 * request, and "read until the end" (next lesson) never ends. And sending is a loop, like
 * Python's sendall(): write() may take less than it was given, the rest waits for `drain`.
 */
import { type Connection, connectToHost } from "./02-connect.ts";
import { CLIENT_FLAGS, clientTarget } from "./08-practice-server.ts";
import * as cli from "./command-line.ts";

export interface RequestLine {
  method?: string;
  host: string;
  port: number;
  path?: string;
  /** The scheme's own port, which the Host header leaves out (443 for https). */
  defaultPort?: number;
}

/** The request head, byte for byte. */
export function buildRequest({
  method = "GET",
  host,
  port,
  path = "/",
  defaultPort = 80,
}: RequestLine): string {
  const name = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host; // IPv6 in []
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${port === defaultPort ? name : `${name}:${port}`}`,
    "User-Agent: sockets-lab/1.0",
    "Accept: */*",
    "Connection: close",
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** A path we can put on the request line: starts with /, no spaces or control characters. */
export function checkPath(path: string): string {
  if (/^\/[\x21-\x7e]*$/.test(path)) return path;
  throw new Error(
    `--path must start with / and hold no spaces or control characters, not "${path}"`,
  );
}

/** Like Python's sendall(): writes until every byte is taken, waiting for `drain` between. */
export async function sendAll(
  connection: Connection,
  data: string | Uint8Array,
): Promise<{ writes: number; waits: number }> {
  let rest = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  let writes = 0;
  let waits = 0;
  for (;;) {
    const written = connection.closed ? -1 : connection.socket.write(rest);
    writes++;
    if (written < 0)
      throw new Error(`${connection.where} closed the connection while we were sending`);
    rest = rest.subarray(written);
    if (rest.length === 0) return { writes, waits };
    // The kernel's send buffer is full: wait until it has room (drain) or the peer closes,
    // then give back the listeners we borrowed.
    waits++;
    await new Promise<void>((resolve) => {
      const saved = connection.listeners;
      const wake = (): void => ((connection.listeners = saved), resolve());
      connection.listeners = {
        ...saved,
        drain: wake,
        close: (why) => (wake(), saved.close?.(why)),
      };
    });
  }
}

/** The first line of the reply: it may come in pieces, so we collect up to a newline. */
export function readFirstLine(connection: Connection, maxBytes = 8192): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    connection.listen({
      data(chunk) {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf("\n");
        if (end < 0 && received.length <= maxBytes) return; // not yet: wait for more
        connection.listen({ data() {} }); // we have our answer: the rest is not kept
        if (end >= 0) resolve(received.toString("latin1", 0, end).replace(/\r$/, ""));
        else reject(new Error(`${connection.where} sent ${maxBytes} bytes without a line end`));
      },
      close: () => reject(new Error(`${connection.where} closed the connection without a reply`)),
    });
  });
}

const usage = `usage: bun run 03-http-client/03-send-request.ts [--host NAME] [--port N] [--path P] [--json]

Sends a GET request written by hand, shows its bytes and the first line of the
answer. With no --host and no --port it talks to the chapter's practice server.
  --host NAME    host name or IP address (default 127.0.0.1)
  --port N       port (default 80)
  --path P       what to ask for (default /)
  --json         print one JSON document instead of text`;

if (import.meta.main) {
  const flags = { ...CLIENT_FLAGS, path: { type: "string" } } as const;
  const { target, path, json } = cli.parseCommandLine(usage, flags, (values) => ({
    path: checkPath(values.path ?? "/"),
    json: values.json,
    target: clientTarget(values, 80),
  }));
  await cli.runClient(async () => {
    const connection = await connectToHost(target.host, target.port);
    const request = buildRequest({ host: target.host, port: target.port, path });
    const { writes, waits } = await sendAll(connection, request);
    const firstLine = await readFirstLine(connection);
    connection.close();
    const bytes = Buffer.byteLength(request, "latin1");
    if (json) console.log(JSON.stringify({ request, bytes, writes, waits, firstLine }, null, 2));
    else
      console.log(`${request.replaceAll("\r\n", "\\r\\n\n")}
sent ${bytes} bytes in ${writes} write(s), after ${waits} wait(s) for drain
the server's first line: ${firstLine}`);
  }, target.stop);
}
