// What several 03-http-client rubrics share: a raw HTTP server that answers with exactly the
// bytes a test gives it, and small helpers. Only 127.0.0.1, only ports the tests open.
import type { Socket } from "bun";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ResponseParser } from "../../03-http-client/http-response.ts";
import { ROOT, TcpTestClient } from "../helpers.ts";

/** The chapter's practice certificate (and authority): PEM text and path. */
export const PRACTICE_CERT = join(ROOT, "03-http-client/localhost-cert.pem");
export const CA = readFileSync(PRACTICE_CERT, "utf8");

export const sha256 = (bytes: Uint8Array): string =>
  createHash("sha256").update(bytes).digest("hex");

/** Splits text into pieces of `size` bytes, to send a response in many small writes. */
export const pieces = (text: string, size: number): string[] =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );

type Piece = string | Uint8Array;
interface RawClient {
  head: string;
  answered: boolean;
  unsent: Buffer;
  then: (() => void) | null;
}

export interface RawServer extends Disposable {
  port: number;
  url: string;
  /** Every request head received, in order. */
  requests: string[];
}

/**
 * A server that reads a request head (however it is split), then writes `response` piece by
 * piece (yielding between them, so they tend to arrive as separate data events) with a write
 * loop that respects backpressure, and ends, unless `end` is false (a stalled server).
 * `atOnce` sends the pieces as soon as a client connects, before any request.
 */
export function rawServer(response: Piece[], { end = true, atOnce = false } = {}): RawServer {
  const requests: string[] = [];
  const answer = async (socket: Socket<RawClient>): Promise<void> => {
    socket.data.answered = true;
    for (const piece of response) {
      await writeAll(socket, piece);
      await new Promise((next) => setImmediate(next));
    }
    // Before any request, half-close only: a request arriving at a closed socket is reset.
    if (end && atOnce) socket.shutdown();
    else if (end) socket.end();
  };
  const listener = Bun.listen<RawClient>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { head: "", answered: false, unsent: Buffer.alloc(0), then: null };
        if (atOnce) void answer(socket);
      },
      data(socket, chunk) {
        const client = socket.data;
        if (client.answered) return;
        client.head += chunk.toString("latin1");
        if (!client.head.includes("\r\n\r\n")) return;
        requests.push(client.head);
        void answer(socket);
      },
      drain: flush,
      error() {},
    },
  });
  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}/`,
    requests,
    [Symbol.dispose]: () => listener.stop(true),
  };
}

function flush(socket: Socket<RawClient>): void {
  const client = socket.data;
  while (client.unsent.length > 0) {
    const written = socket.write(client.unsent);
    if (written <= 0) return;
    client.unsent = client.unsent.subarray(written);
  }
  const then = client.then;
  client.then = null;
  then?.();
}

/** Writes every byte, resolving once the kernel has taken them all. */
function writeAll(socket: Socket<RawClient>, piece: Piece): Promise<void> {
  return new Promise((done) => {
    const bytes = typeof piece === "string" ? Buffer.from(piece, "latin1") : Buffer.from(piece);
    socket.data.unsent = Buffer.concat([socket.data.unsent, bytes]);
    socket.data.then = done;
    flush(socket);
  });
}

/**
 * Sends `request` (GET PATH, or the exact bytes if it has a space) and reads until the server
 * closes; returns the bytes and what the chapter's parser makes of them.
 */
export async function ask(port: number, request: string, host = "127.0.0.1") {
  const head = request.includes(" ")
    ? request
    : `GET ${request} HTTP/1.1\r\nHost: practice\r\nConnection: close\r\n\r\n`;
  await using client = await TcpTestClient.connect(port, host);
  client.send(head);
  await client.whenClosed;
  const body: Buffer[] = [];
  const parser = new ResponseParser(head.split(" ")[0] ?? "GET", (bytes) => body.push(bytes));
  parser.push(client.received);
  parser.end();
  return { raw: client.received, parser, body: Buffer.concat(body) };
}
