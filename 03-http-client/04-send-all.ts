/**
 * @title Send it all
 * @summary write() may take less than it was given: a loop that waits for `drain` sends every byte, like sendall().
 * @run bun run 03-http-client/04-send-all.ts [--host HOST] [--port PORT] [--bytes 16777216] [--json]
 * @python socket-04.py
 *
 * An upload is more than the kernel's send buffer holds. Given 16 MiB, `socket.write()` takes
 * what fits, about 4 MB on loopback, and returns that count: the rest is not sent, and a
 * server waiting for the Content-Length it was promised waits for ever. Python's sendall()
 * hides the loop; here it is. With no --host and no --port: the practice server's /upload.
 */
import type { Socket } from "bun";
import { command, connect, endpoint, fail, flag, peerOrStart } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";
import { LineReader } from "../lib/stream.ts";

/** Python's sendall(): writes until every byte is taken; `drained()` waits for room. */
export async function sendAll(socket: Socket<undefined>, data: Uint8Array, drained: Drained) {
  let rest = data;
  const taken: number[] = [];
  while (rest.length > 0) {
    const written = socket.write(rest);
    if (written < 0) throw new Error("the server closed the connection while we were sending");
    taken.push(written);
    rest = rest.subarray(written);
    // The kernel's buffer is full: wait for `drain` (room again), or for the close (-1 next).
    if (rest.length > 0) await drained();
  }
  return { writes: taken.length, waits: taken.length - 1, taken };
}

type Drained = () => Promise<unknown>;

/** POSTs a body of `bytes` bytes with sendAll; resolves with the writes and the reply. */
export async function upload(host: string, port: number, bytes: number) {
  const reader = new LineReader(8192);
  const firstLine = Promise.withResolvers<string>();
  let wake = (): void => {};
  const socket = await connect(host, port, {
    data(_socket, chunk) {
      for (const line of reader.push(chunk)) firstLine.resolve(line);
      if (reader.tooLong) firstLine.reject(new Error("the reply's first line is over 8 KiB"));
    },
    drain: () => wake(),
    close() {
      wake();
      firstLine.reject(new Error("the server closed the connection without a reply"));
    },
  });
  const drained = () => new Promise<void>((resolve) => (wake = resolve));
  const where = endpoint(host, port);
  const request = `POST /upload HTTP/1.1\r\nHost: ${where}\r\nContent-Length: ${bytes}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(request), Buffer.alloc(bytes, "x")]);
  // Both at once: a server may answer, or close, before it has read the whole body.
  const [sent, reply] = await Promise.all([sendAll(socket, body, drained), firstLine.promise]);
  socket.end();
  return { ...sent, bytes: body.length, firstLine: reply };
}

if (import.meta.main) {
  const cli = command("03-http-client/04-send-all.ts", "Uploads a body with a sendall loop.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    bytes: flag.whole(16 * 1024 * 1024, "bytes of body to send", { max: 128 * 1024 * 1024 }),
    json: flag.bool("print one JSON document instead of text"),
  });
  const args = cli.parse();
  const serverFile = new URL("10-practice-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(args, { serverFile, defaultPort: 80 });
  const sent = await upload(host, port, args.bytes).catch(async (error) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  await local?.stop();
  if (args.json) console.log(JSON.stringify(sent, null, 2));
  else
    console.log(`the first write() took ${sent.taken[0]} of ${sent.bytes} bytes: the rest waited
sent them all in ${sent.writes} write(s), after ${sent.waits} wait(s) for drain
the server's first line: ${sent.firstLine}`);
}
