/**
 * @title Echo client
 * @summary Send a message, a file or typed lines to any echo server (RFC 862) and prove every byte came back.
 * @run bun run 04-server/14-echo-client.ts [--message TEXT] [--file PATH] [--protocol tcp|udp] [--host HOST] [--port PORT] [--json]
 * @python tcp/client_echo.py tcp_sockets_python.py#echo_client
 *
 * Over TCP it reads while it sends (a client that only wrote would stall both sides), then
 * half-closes with `shutdown()` ("no more from me", still reading) and reads until the server
 * closes; byte counts and SHA-256 must match. Over UDP each message is one datagram, asked
 * with `ask()`. With no --message or --file, the lines you type go out. With no --host and
 * no --port it starts lesson 13's server in this process.
 */
import {
  command,
  connect,
  endpoint,
  fail,
  flag,
  usageError,
  whyConnectFailed,
} from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { startEchoServer } from "./13-echo-server.ts";

/** TCP: send everything (reading all along), half-close, read until the server closes. */
async function overTcp(host: string, port: number, source: Source, onEcho: OnEcho) {
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
      const timer = setTimeout(
        () => reject(new Error(`${endpoint(host, port)} went silent for ${SILENCE_MS} ms`)),
        SILENCE_MS,
      );
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
          throw new Error(`${endpoint(host, port)} closed the connection while we were sending`);
        offset += written;
        if (offset < chunk.length) await event();
      }
    }
    // FIN: "that is all". An echo server sends the rest, then closes.
    socket.shutdown();
    while (!closed) await event();
    return { sent, back };
  } finally {
    if (!closed) socket.terminate();
  }
}

/** Silence this long, while the echo is still due, is an error. */
const SILENCE_MS = 10_000;

/** UDP: each message is one datagram, and so is its echo; silence means send it again. */
async function overUdp(host: string, port: number, source: Source, onEcho: OnEcho) {
  const [sent, back] = [tally(), tally()];
  for await (const datagram of source) {
    const { reply } = await ask(host, port, datagram).catch(async (error: unknown) => {
      throw new Error(await whyConnectFailed(error, host, port, "udp"));
    });
    add(sent, datagram);
    add(back, reply);
    // A datagram has no newline: add one to print it.
    onEcho(Buffer.concat([reply, Buffer.from("\n")]));
  }
  return { sent, back };
}

/** Sends `source` (a message, a file, typed lines) and compares the echo with it. */
export async function checkEcho(
  protocol: "tcp" | "udp",
  host: string,
  port: number,
  source: Source,
  onEcho: OnEcho = () => {},
) {
  const started = performance.now();
  const { sent, back } = await (protocol === "tcp" ? overTcp : overUdp)(host, port, source, onEcho);
  const sentSha256 = sent.hash.digest("hex");
  const receivedSha256 = back.hash.digest("hex");
  const identical = sent.bytes === back.bytes && sentSha256 === receivedSha256;
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  return {
    protocol,
    host,
    port,
    sentBytes: sent.bytes,
    receivedBytes: back.bytes,
    sentSha256,
    receivedSha256,
    identical,
    ms,
  };
}

type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
type OnEcho = (bytes: Uint8Array) => void;
const tally = () => ({ bytes: 0, hash: new Bun.CryptoHasher("sha256") });
function add(to: ReturnType<typeof tally>, chunk: Uint8Array): void {
  to.bytes += chunk.length;
  to.hash.update(chunk);
}

/** Typed lines: with "\n" on a TCP stream (the frame), bare in a datagram; empty ones skipped. */
async function* typedLines(protocol: "tcp" | "udp"): AsyncGenerator<Uint8Array> {
  for await (const line of console) {
    if (line !== "") yield Buffer.from(protocol === "tcp" ? `${line}\n` : line);
  }
}

const cli = command(
  "04-server/14-echo-client.ts",
  "Checks an echo server (RFC 862); with no --host or --port, lesson 13's, started here.",
  {
    message: flag.text(undefined, "send this text (default: the lines you type)"),
    file: flag.text(undefined, "send this file instead (TCP only)", "PATH"),
    protocol: flag.choice(["tcp", "udp"], "tcp", "udp sends one datagram per message or line"),
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 7, the standard echo port)", { min: 1 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { message, file, protocol, host, port, json } = cli.parse();
  if (file !== undefined && (message !== undefined || protocol === "udp"))
    usageError("--file goes alone and over TCP: a file may not fit in one datagram", cli.usage);
  if (file !== undefined && !(await Bun.file(file).exists()))
    fail(`cannot read ${file}: there is no such file`);
  const local =
    host === undefined && port === undefined
      ? await startEchoServer("127.0.0.1", 0, { protocols: [protocol] })
      : undefined;
  const target = { host: host ?? "127.0.0.1", port: (local?.tcp ?? local?.udp)?.port ?? port ?? 7 };
  const where = `${endpoint(target.host, target.port)} (${protocol})`;
  if (local && !json) console.log(`no --host or --port: started lesson 13's server, ${where}`);
  let source: Source = typedLines(protocol);
  if (message !== undefined) source = [Buffer.from(message)];
  if (file !== undefined) source = Bun.file(file).stream();
  // Typed lines: say so, or the program would look hung; then print each echo as it comes.
  const typed = message === undefined && file === undefined && !json;
  if (typed)
    console.log("type lines: each comes back as you send it; Ctrl-D ends and checks the echo");
  const show = typed ? (bytes: Uint8Array) => void process.stdout.write(bytes) : undefined;
  try {
    const result = await checkEcho(protocol, target.host, target.port, source, show);
    const { sentBytes, receivedBytes, ms, identical } = result;
    if (json) console.log(JSON.stringify(result, null, 2));
    else
      console.log(
        `${sentBytes} bytes sent to ${where}, ${receivedBytes} back in ${Math.round(ms)} ms`,
      );
    if (!identical) fail("the echo differs from what was sent: not a faithful echo");
    if (!json) console.log("the echo is identical: the same byte count, the same SHA-256");
  } catch (error) {
    fail((error as Error).message);
  } finally {
    local?.stop();
  }
}
