/**
 * @title Read with limits
 * @summary The same read, bounded: a server that goes quiet, or never stops, ends in one sentence.
 * @run bun run 03-http-client/06-read-limits.ts [--host HOST] [--port PORT] [--path /] [--max-bytes 67108864] [--idle-timeout 10]
 * @python new
 *
 * Lesson 05 trusts the server. The practice server's /broken/stall (lesson 08) sends 10 of
 * the 100 bytes it promised, then nothing: lesson 05 waits until that server gives up (60 s),
 * and on a server with no such limit, forever; one that never stops fills the memory. Two
 * guards: a clock every piece restarts (Bun's socket.timeout() ignores traffic), a byte count.
 */
import type { Socket } from "bun";
import { command, connect, endpoint, fail, flag, peerOrStart } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";

/** Lesson 05's read, stopped by `idleMs` of silence or more than `maxBytes`. */
export async function readLimited(host: string, port: number, path: string, limits: Limits) {
  const { idleMs, maxBytes } = limits;
  const where = endpoint(host, port);
  const chunks: Buffer[] = [];
  let bytes = 0;
  const closed = Promise.withResolvers<Buffer[]>();
  // Rejected first: terminate() calls `close` at once, which would resolve it.
  const stop = (socket: Socket<undefined>, why: string): void => {
    closed.reject(new Error(why));
    socket.terminate();
  };
  let outbox: Outbox | undefined;
  let timer: IdleTimer | undefined;
  const socket = await connect(host, port, {
    data(socket, chunk) {
      chunks.push(chunk);
      bytes += chunk.length;
      timer?.touch();
      if (bytes > maxBytes)
        stop(socket, `the response passed ${maxBytes} bytes (--max-bytes): stopped`);
    },
    drain: () => outbox?.flush(),
    close(_socket, error) {
      timer?.stop();
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (error) closed.reject(new Error(`the connection to ${where} broke (${code})`));
      else closed.resolve(chunks);
    },
  });
  const silent = `${where} sent nothing for ${idleMs / 1000} s (--idle-timeout) and did not close`;
  timer = new IdleTimer(idleMs, () => stop(socket, silent));
  outbox = new Outbox(socket);
  outbox.send(`GET ${path} HTTP/1.1\r\nHost: ${where}\r\nConnection: close\r\n\r\n`);
  return closed.promise;
}

export type Limits = { idleMs: number; maxBytes: number };

const PRACTICE = new URL("10-practice-server.ts", import.meta.url).href;

if (import.meta.main) {
  const cli = command("03-http-client/06-read-limits.ts", "Prints a raw response, bounded.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 80, or the practice server's)", { min: 1 }),
    // Percent-encoded, a path cannot break the request line with a space or a CRLF.
    path: flag.text("/", "what to ask for", "PATH", encodeURI),
    "max-bytes": flag.whole(64 * 1024 * 1024, "stop past this many bytes", { min: 1 }),
    "idle-timeout": flag.decimal(10, "stop after this many quiet seconds", { min: 0.01 }),
  });
  const args = cli.parse();
  const { host, port, local } = await peerOrStart(args, { serverFile: PRACTICE, defaultPort: 80 });
  const limits = { idleMs: args["idle-timeout"] * 1000, maxBytes: args["max-bytes"] };
  const chunks = await readLimited(host, port, args.path, limits).catch(async (error) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  await local?.stop();
  const response = Buffer.concat(chunks);
  process.stdout.write(response);
  console.log(`\n--- ${response.length} bytes in ${chunks.length} data event(s), within limits`);
}
