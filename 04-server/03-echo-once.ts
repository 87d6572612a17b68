/**
 * @title Echo once
 * @summary Accept one client, read one line from it however the bytes arrive, send it back, close.
 * @run bun run 04-server/03-echo-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536]
 * @python server-03.py
 * @serves tcp "hello\n" -> "hello\n"
 * @limits clients 1 · memory 100 MiB
 *
 * The Python lab called recv(1024) once and echoed whatever came. But TCP is a stream of bytes,
 * not of messages: one read may hold half a line, or two lines. Here the server collects bytes
 * until a newline (printing each read, so you can watch `nc` deliver it), echoes that one line
 * and closes. A line longer than --max-line gets an error reply instead of an unbounded buffer.
 */
import type { TCPSocketListener } from "bun";
import { formatEndpoint, listenOrExit, parseServerArgs, stopOnSignals } from "./cli.ts";
import { Outbox } from "./02-accept.ts";

export const MAX_LINE_BYTES = 65_536;

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes`);
  }
}

/** Turns a stream of chunks into lines ("\n"-terminated; a "\r" before it is dropped). */
export class LineBuffer {
  private partial: Buffer = Buffer.alloc(0);

  constructor(readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** Bytes of an unfinished line held so far. */
  get buffered(): number {
    return this.partial.length;
  }

  /** Adds the bytes of one read; returns the lines they complete (none, one or many). */
  push(chunk: Uint8Array): Buffer[] {
    const bytes = Buffer.concat([this.partial, chunk]);
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = bytes.indexOf(10); end !== -1; end = bytes.indexOf(10, start)) {
      const line = bytes.subarray(start, end > start && bytes[end - 1] === 13 ? end - 1 : end);
      if (line.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      lines.push(line);
      start = end + 1;
    }
    // Never hold more than one line's worth: a peer that never sends "\n" cannot fill memory.
    if (bytes.length - start > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    this.partial = Buffer.from(bytes.subarray(start));
    return lines;
  }
}

export type EchoOutcome =
  | { kind: "echoed"; line: string; bytes: number; reads: number }
  | { kind: "too-long"; limit: number; reads: number }
  | { kind: "left"; bytes: number; reads: number };

interface EchoClient {
  peer: string;
  lines: LineBuffer;
  outbox: Outbox;
  reads: number;
  /** False for a client turned away because this server had already chosen one. */
  chosen: boolean;
}

/** Serves exactly one client: echoes its first line, reports what happened, then stops. */
export function echoOnce(
  host: string,
  port: number,
  { maxLineBytes = MAX_LINE_BYTES, log = (_: string) => {} } = {},
): { listener: TCPSocketListener<EchoClient>; outcome: Promise<EchoOutcome> } {
  let report: (outcome: EchoOutcome) => void = () => {};
  const outcome = new Promise<EchoOutcome>((resolve) => (report = resolve));
  let served = false;
  const done = (client: EchoClient, result: EchoOutcome): void => {
    client.outbox.finish();
    report(result); // later calls (the close after finish) change nothing: a promise settles once
  };
  const listener: TCPSocketListener<EchoClient> = Bun.listen<EchoClient>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
        const lines = new LineBuffer(maxLineBytes);
        socket.data = { peer, lines, outbox: new Outbox(socket), reads: 0, chosen: !served };
        if (served) return socket.data.outbox.finish(); // arrived before stop() took effect
        served = true;
        listener.stop();
        log(`client ${peer} connected; waiting for one line`);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.outbox.finished) return; // answered already: the rest is read and dropped
        client.reads++;
        try {
          const [line] = client.lines.push(chunk);
          if (!line) return log(`read ${chunk.length} bytes, no end of line yet: reading again`);
          log(`read ${chunk.length} bytes: the line is complete after ${client.reads} read(s)`);
          client.outbox.send(Buffer.concat([line, Buffer.from("\n")]));
          const result = { line: line.toString(), bytes: line.length, reads: client.reads };
          done(client, { kind: "echoed", ...result });
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          client.outbox.send(`error: ${error.message}; closing\n`);
          done(client, { kind: "too-long", limit: error.limit, reads: client.reads });
        }
      },
      drain: (socket) => socket.data.outbox.flush(),
      close(socket) {
        const { lines, reads, chosen } = socket.data;
        if (chosen) report({ kind: "left", bytes: lines.buffered, reads });
      },
    },
  });
  return { listener, outcome };
}

const usage = `usage: bun run 04-server/03-echo-once.ts [--host 127.0.0.1] [--port 5000] [--max-line 65536]

Accepts one TCP client, reads one line from it, sends that line back and exits.
  --host IP       address to listen on (127.0.0.1, ::1, 0.0.0.0, ...)
  --port N        port to listen on, 0 = any free port (default 5000)
  --max-line N    longest line accepted, in bytes (default ${MAX_LINE_BYTES})`;

if (import.meta.main) {
  const { host, port, counts } = parseServerArgs(usage, { "max-line": MAX_LINE_BYTES });
  const maxLineBytes = counts["max-line"];
  const { listener, outcome } = listenOrExit(
    () => echoOnce(host, port, { maxLineBytes, log: console.log }),
    host,
    port,
  );
  stopOnSignals(() => listener.stop(true)); // before `listening on`: see cli.ts
  console.log(`listening on ${formatEndpoint(listener.hostname, listener.port)} (tcp)`);
  console.log(`waiting for one client: try  echo hello | nc ${listener.hostname} ${listener.port}`);
  const result = await outcome;
  if (result.kind === "echoed") console.log(`echoed "${result.line}" (${result.bytes} bytes)`);
  else if (result.kind === "too-long")
    console.log(`the client sent more than ${result.limit} bytes without a newline: told it so`);
  else console.log(`the client left before ending its line (${result.bytes} bytes unfinished)`);
  console.log("closed the connection; this server serves one client, so it exits");
}
