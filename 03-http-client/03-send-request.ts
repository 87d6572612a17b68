/**
 * @title Send a request
 * @summary Write an HTTP GET request by hand: request line, Host, Connection: close, empty line.
 * @run bun run 03-http-client/03-send-request.ts [--host HOST] [--port PORT] [--path /] [--json]
 * @python socket-04.py
 *
 * An HTTP/1.1 request is text in lines that end with CRLF (\r\n): the request line, a Host
 * header (one address serves many sites), and an empty line for "that is all". We also ask
 * for `Connection: close`: otherwise the server keeps the connection open for a next
 * request, and "read until the end" (lesson 05) never ends. lib's connectLines() sends it
 * and reads the reply a line at a time; the first line says whether the server understood.
 */
import { command, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { checkPath } from "./https.ts";

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

/** Connects, sends `request`, and resolves with the first line of the reply. */
export async function sendRequest(host: string, port: number, request: string): Promise<string> {
  const server = await connectLines(host, port, { maxLineBytes: 8192 });
  server.send(request);
  try {
    // The line may come in pieces: connectLines keeps them until its "\n".
    const firstLine = await server.next();
    if (firstLine === undefined)
      throw new Error("the server closed the connection without a reply");
    return firstLine;
  } finally {
    server.close();
  }
}

const PRACTICE = new URL("10-practice-server.ts", import.meta.url).href;

if (import.meta.main) {
  const cli = command("03-http-client/03-send-request.ts", "Sends a GET written by hand.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    path: flag.text("/", "what to ask for", "PATH", checkPath),
    json: flag.bool("print one JSON document instead of text"),
  });
  const args = cli.parse();
  const { host, port, local } = await peerOrStart(args, { serverFile: PRACTICE, defaultPort: 80 });
  const request = buildRequest({ host, port, path: args.path });
  const firstLine = await sendRequest(host, port, request).catch(async (error) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  await local?.stop();
  if (args.json)
    console.log(JSON.stringify({ request, bytes: request.length, firstLine }, null, 2));
  else {
    console.log(request.replaceAll("\r\n", "\\r\\n\n"));
    console.log(`sent ${request.length} bytes; the server's first line: ${firstLine}`);
  }
}
