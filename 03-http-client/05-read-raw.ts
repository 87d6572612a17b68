/**
 * @title Read the raw response
 * @summary Read what the server sends until it closes the connection, and print it as it came.
 * @run bun run 03-http-client/05-read-raw.ts [--host HOST] [--port PORT] [--path /] [--json]
 * @python socket-05.py
 *
 * Python called recv() until it returned nothing. Bun calls `data` with whatever has arrived;
 * how many events and how big is the network's choice, so we count them. We asked for
 * `Connection: close`, so the server's close is the end of the response. This trusts the
 * server to close, and to stop: lesson 06 bounds the wait and the size.
 */
import { command, connect, endpoint, fail, flag, peerOrStart } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";
import { Outbox } from "../lib/stream.ts";
import { checkPath } from "./https.ts";

/** Sends a GET for `path`, then keeps every piece that arrives until the server closes. */
export async function readRaw(host: string, port: number, path: string): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  const closed = Promise.withResolvers<Buffer[]>();
  let outbox: Outbox | undefined;
  const socket = await connect(host, port, {
    data: (_socket, chunk) => void chunks.push(chunk),
    drain: () => outbox?.flush(),
    close(_socket, error) {
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (error)
        closed.reject(new Error(`the connection to ${endpoint(host, port)} broke (${code})`));
      else closed.resolve(chunks);
    },
  });
  // lib's Outbox is lesson 04's sendAll loop, written once: it keeps what write() did not take.
  outbox = new Outbox(socket);
  outbox.send(`GET ${path} HTTP/1.1\r\nHost: ${endpoint(host, port)}\r\nConnection: close\r\n\r\n`);
  return closed.promise;
}

const PRACTICE = new URL("10-practice-server.ts", import.meta.url).href;

if (import.meta.main) {
  const cli = command("03-http-client/05-read-raw.ts", "Prints a raw response as it came.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    path: flag.text("/", "what to ask for", "PATH", checkPath),
    json: flag.bool("one JSON document: sizes, and the response in base64"),
  });
  const args = cli.parse();
  const { host, port, local } = await peerOrStart(args, { serverFile: PRACTICE, defaultPort: 80 });
  const started = performance.now();
  const chunks = await readRaw(host, port, args.path).catch(async (error: NodeJS.ErrnoException) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  const ms = Math.round(performance.now() - started);
  await local?.stop();
  const sizes = chunks.map((chunk) => chunk.length);
  const response = Buffer.concat(chunks);
  if (args.json) {
    const base64 = response.toString("base64");
    console.log(
      JSON.stringify({ bytes: response.length, events: sizes.length, sizes, ms, base64 }),
    );
  } else {
    process.stdout.write(response);
    const shown = `${sizes.slice(0, 8).join(", ")}${sizes.length > 8 ? ", ..." : ""}`;
    console.log(
      `\n--- ${response.length} bytes in ${sizes.length} data event(s) (${shown}); then the server closed, after ${ms} ms`,
    );
  }
}
