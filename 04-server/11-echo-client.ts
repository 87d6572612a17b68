/**
 * @title Echo client
 * @summary Send a message, a file or typed lines to any echo server (RFC 862) and prove every byte came back.
 * @run bun run 04-server/11-echo-client.ts [--message TEXT | --file PATH] [--protocol tcp|udp] [--host HOST] [--port 7] [--json]
 * @python tcp/client_echo.py tcp_sockets_python.py#echo_client
 *
 * Over TCP it reads while it sends (a client that only wrote would stall both sides), then
 * half-closes with `shutdown()` ("no more from me", still reading) and reads until the server
 * closes; counts and SHA-256 must match. With no --message or --file, the lines you type go out.
 */
import {
  CLIENT_FLAGS,
  checkClientFlags,
  explainClientError,
  formatEndpoint,
  parseCli,
  type Protocol,
} from "./cli.ts";
import { openUdpClient } from "./09-daytime-client.ts";
import { startEchoServer } from "./10-echo-server.ts";

const IDLE_MS = 10_000; // silence this long, while we wait for the echo, is an error
type Source = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
type Peer = { host: string; port: number };
type OnEcho = (bytes: Uint8Array) => void;
type Tally = { bytes: number; hash: Bun.CryptoHasher };
const tally = (): Tally => ({ bytes: 0, hash: new Bun.CryptoHasher("sha256") });
const add = (to: Tally, chunk: Uint8Array) => ((to.bytes += chunk.length), to.hash.update(chunk));

async function overTcp({ host, port }: Peer, source: Source, onEcho?: OnEcho) {
  const [where, sent, back] = [formatEndpoint(host, port), tally(), tally()];
  let [closed, drained, wake] = [false, false, (): void => {}];
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data: (_socket, chunk) => (add(back, chunk), onEcho?.(chunk), wake()),
      drain: () => ((drained = true), wake()),
      close: () => ((closed = true), wake()),
      error() {},
    },
  }).catch((error: unknown) =>
    Promise.reject(new Error(explainClientError(error, host, port, "tcp"))),
  );
  /** Waits for data, drain or close events until `done()`; silence for IDLE_MS is an error. */
  async function until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (closed) throw new Error(`${where} closed, ${back.bytes} of ${sent.bytes} bytes echoed.`);
      await new Promise<void>((resolve, reject) => {
        const silent = new Error(`${where} went silent for ${IDLE_MS} ms.`);
        const timer = setTimeout(reject, IDLE_MS, silent);
        wake = () => (clearTimeout(timer), resolve());
      });
    }
  }
  try {
    for await (const chunk of source) {
      add(sent, chunk);
      // write() takes what the kernel has room for; the rest waits for the `drain` event.
      for (let offset = 0; offset < chunk.length;) {
        drained = false;
        const written = socket.write(chunk.subarray(offset));
        if (written < 0) throw new Error(`${where} closed the connection while we were sending.`);
        offset += written;
        if (offset < chunk.length) await until(() => drained);
      }
    }
    socket.shutdown(); // FIN: "that is all"; an echo server sends the rest, then closes
    await until(() => closed);
    return { sent, back };
  } finally {
    if (!closed) socket.terminate(); // we gave up: an open socket would keep this process alive
  }
}

async function overUdp({ host, port }: Peer, source: Source, onEcho?: OnEcho) {
  const [udp, sent, back] = [await openUdpClient(host, port), tally(), tally()];
  try {
    for await (const datagram of source) {
      const { reply } = await udp.request(datagram); // resent on silence, 3 tries
      add(sent, datagram);
      add(back, reply);
      onEcho?.(Buffer.from(`${reply}\n`)); // a datagram has no newline: add one to print it
    }
  } finally {
    udp.close();
  }
  return { sent, back };
}

/** Sends `source` (a message, a file, typed lines) and compares the echo with it. */
export async function checkEcho(protocol: Protocol, peer: Peer, source: Source, onEcho?: OnEcho) {
  const started = performance.now();
  const { sent, back } = await (protocol === "tcp" ? overTcp : overUdp)(peer, source, onEcho);
  const [sentSha256, receivedSha256] = [sent.hash.digest("hex"), back.hash.digest("hex")];
  const identical = sent.bytes === back.bytes && sentSha256 === receivedSha256;
  const [sentBytes, receivedBytes, ms] = [sent.bytes, back.bytes, performance.now() - started];
  return { protocol, ...peer, sentBytes, receivedBytes, sentSha256, receivedSha256, identical, ms };
}

const printEcho = (bytes: Uint8Array): void => void process.stdout.write(bytes); // as it comes
/** Typed lines: with "\n" on a TCP stream (the frame), bare in a datagram; empty ones skipped. */
async function* typedLines(protocol: Protocol): AsyncGenerator<Uint8Array> {
  for await (const line of console)
    if (line !== "") yield Buffer.from(protocol === "tcp" ? `${line}\n` : line);
}

const usage = `usage: bun run 04-server/11-echo-client.ts [--message TEXT | --file PATH] [--protocol tcp|udp] [--host HOST] [--port 7] [--json]

Sends to an echo server (RFC 862) and checks that every byte came back. With neither
--host nor --port it starts lesson 10's echo server in this process on a free port.
  --message TEXT  send TEXT; --file PATH sends a file (TCP only); neither: the lines you type
  --protocol      tcp (default) or udp: one datagram per message or line, resent on silence
  --host, --port  the server (default 127.0.0.1, port 7)
  --json          print the result as one JSON document`;

if (import.meta.main) {
  const flags = { ...CLIENT_FLAGS, message: { type: "string" }, file: { type: "string" } } as const;
  const { protocol, message, file, json, ...given } = parseCli(usage, flags, (values) => {
    if (values.file !== undefined && (values.message !== undefined || values.protocol === "udp"))
      throw new Error("--file goes alone and over TCP: a file may not fit in one datagram");
    return checkClientFlags(values);
  });
  const local = (given.host ?? given.port) === undefined;
  const server = local ? await startEchoServer({ port: 0, protocols: [protocol] }) : undefined;
  const host = given.host ?? "127.0.0.1";
  const port = (server ? (server.tcp ?? server.udp)?.port : given.port) ?? 7;
  const where = `${formatEndpoint(host, port)} (${protocol})`;
  if (server && !json) console.log(`no --host or --port: started lesson 10's server, ${where}`);
  try {
    if (file !== undefined && !(await Bun.file(file).exists()))
      throw new Error(`cannot read ${file}: there is no such file.`);
    let source: Source = typedLines(protocol); // read only if neither flag replaces it
    if (message !== undefined) source = [Buffer.from(message)];
    if (file !== undefined) source = Bun.file(file).stream();
    const typed = (file ?? message) === undefined && !json;
    const result = await checkEcho(protocol, { host, port }, source, typed ? printEcho : undefined);
    const { sentBytes, receivedBytes, ms, identical } = result;
    if (json) console.log(JSON.stringify(result, null, 2));
    else console.log(`${sentBytes} bytes sent to ${where}, ${receivedBytes} back in ${ms | 0} ms`);
    if (!identical) throw new Error("the echo differs from what was sent: not a faithful echo.");
    if (!json) console.log("the echo is identical: the same byte count, the same SHA-256");
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  } finally {
    server?.stop();
  }
}
