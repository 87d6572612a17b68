/**
 * @title Echo client over TCP
 * @summary Send a message, a file or typed lines to any echo server (RFC 862) and prove every byte came back.
 * @run bun run 04-server/17-echo-tcp-client.ts [--message TEXT] [--file PATH] [--host HOST] [--port PORT] [--json]
 * @python tcp/client_echo.py tcp_sockets_python.py#echo_client
 *
 * It reads while it sends (a client that only wrote would stall both sides), then half-closes
 * with `shutdown()` ("no more from me", still reading) and reads until the server closes;
 * byte counts and SHA-256 must match. With no --message or --file, the lines you type go out.
 * With no --host and no --port it starts lesson 16's server for this run.
 */
import { command, connect, endpoint, fail, flag, peerOrStart, usageError } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";

/** Sends `source` (reading all along), half-closes, reads until the server closes; compares. */
export async function checkEcho(host: string, port: number, source: Source, onEcho = NO_ECHO) {
  const where = endpoint(host, port);
  const started = performance.now();
  const [sent, back] = [tally(), tally()];
  let closed = false;
  let wake = () => {};
  const connecting = connect(host, port, {
    data(_socket, chunk) {
      add(back, chunk);
      onEcho(chunk);
      wake();
    },
    drain: () => wake(),
    close() {
      closed = true;
      wake();
    },
    error() {},
  });
  const socket = await connecting.catch(async (error: unknown) => {
    throw new Error(await whyConnectFailed(error, host, port));
  });
  /** Waits for the next data, drain or close; silence for SILENCE_MS is an error. */
  const event = () =>
    new Promise<void>((resolve, reject) => {
      const silent = new Error(`${where} went silent for ${SILENCE_MS} ms`);
      const timer = setTimeout(() => reject(silent), SILENCE_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  try {
    for await (const chunk of source) {
      add(sent, chunk);
      // write() takes what the kernel has room for; the rest waits for `drain`.
      for (let offset = 0; offset < chunk.length;) {
        const written = socket.write(chunk.subarray(offset));
        if (written < 0 || closed)
          throw new Error(`${where} closed the connection while we were sending`);
        offset += written;
        if (offset < chunk.length) await event();
      }
    }
    // FIN: "that is all". An echo server sends the rest, then closes.
    socket.shutdown();
    while (!closed) await event();
  } finally {
    if (!closed) socket.terminate();
  }
  const [sentSha256, receivedSha256] = [sent.hash.digest("hex"), back.hash.digest("hex")];
  const identical = sent.bytes === back.bytes && sentSha256 === receivedSha256;
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  const counts = { sentBytes: sent.bytes, receivedBytes: back.bytes, sentSha256, receivedSha256 };
  return { host, port, ...counts, identical, ms };
}

/** Silence this long, while the echo is still due, is an error. */
const SILENCE_MS = 10_000;

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
const NO_ECHO = (_: Uint8Array): void => {};
const tally = () => ({ bytes: 0, hash: new Bun.CryptoHasher("sha256") });
function add(to: ReturnType<typeof tally>, chunk: Uint8Array): void {
  to.bytes += chunk.length;
  to.hash.update(chunk);
}

/** Typed lines, each with its "\n" (the frame on a stream); empty ones skipped. */
async function* typedLines(): AsyncGenerator<Uint8Array> {
  for await (const line of console) if (line !== "") yield Buffer.from(`${line}\n`);
}

const cli = command(
  "04-server/17-echo-tcp-client.ts",
  "Checks an echo server (RFC 862) over TCP; with no --host or --port, lesson 16's.",
  {
    message: flag.text(undefined, "send this text (default: the lines you type)"),
    file: flag.text(undefined, "send this file instead", "PATH"),
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 7, the standard echo port)", { min: 1 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { message, file, host, port, json } = cli.parse();
  if (file !== undefined && message !== undefined)
    usageError("--file goes alone: give --message or --file, not both", cli.usage);
  if (file !== undefined && !(await Bun.file(file).exists()))
    fail(`cannot read ${file}: there is no such file`);
  const serverFile = `${import.meta.dir}/16-echo-tcp-server.ts`;
  const peer = await peerOrStart({ host, port }, { serverFile, defaultPort: 7 });
  let source: Source = typedLines();
  if (message !== undefined) source = [Buffer.from(message)];
  if (file !== undefined) source = Bun.file(file).stream();
  // Typed lines: say so, or the program would look hung; then print each echo as it comes.
  const typed = message === undefined && file === undefined && !json;
  if (typed) console.log("type lines: each comes back as you send it; Ctrl-D ends and checks it");
  const show = typed ? (bytes: Uint8Array) => void process.stdout.write(bytes) : NO_ECHO;
  const checking = checkEcho(peer.host, peer.port, source, show);
  const result = await checking.catch((error: Error) => fail(error.message));
  await peer.local?.stop();
  const { sentBytes, receivedBytes, ms, identical } = result;
  const where = `${endpoint(peer.host, peer.port)} (tcp)`;
  if (json) console.log(JSON.stringify(result));
  else
    console.log(
      `${sentBytes} bytes sent to ${where}, ${receivedBytes} back in ${Math.round(ms)} ms`,
    );
  if (!identical) fail("the echo differs from what was sent: not a faithful echo");
  if (!json) console.log("the echo is identical: the same byte count, the same SHA-256");
}
