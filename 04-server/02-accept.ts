/**
 * @title Accept
 * @summary Wait for one client, show who it is (address, port, family), greet it and close.
 * @run bun run 04-server/02-accept.ts [--host 127.0.0.1] [--port 5000]
 * @python server-02.py
 * @serves tcp "" -> "hello "
 * @limits clients 1 · memory 100 MiB
 *
 * Python's accept() blocks until a client arrives; Bun calls your `open` handler instead, with a
 * new socket for that one client while the listener keeps its port. Connect with
 * `nc 127.0.0.1 5000` and the server prints the client's address and port (the port is one the
 * client's kernel picked), tells the client the same, and exits. The greeting goes out through
 * an `Outbox`, which keeps what `write()` could not send yet; the later servers reuse it.
 */
import type { Socket, TCPSocketListener } from "bun";
import { formatEndpoint, listenOrExit, parseServerArgs, stopOnSignals } from "./cli.ts";

export interface ClientInfo {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
  /** The end of the connection on this machine: the listener's address and port. */
  local: string;
}

/**
 * Bytes for one client that the kernel has not taken yet: `socket.write` takes only what fits in
 * the send buffer and returns that count, so the rest waits here for the `drain` event.
 */
export class Outbox {
  private queue: Uint8Array[] = [];
  pendingBytes = 0;
  private finishing = false;
  private shutDown = false;

  constructor(private readonly socket: Pick<Socket<unknown>, "write" | "shutdown" | "terminate">) {}

  send(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    this.queue.push(bytes);
    this.pendingBytes += bytes.length;
    this.flush();
  }

  /** Writes what the kernel will take; call it again from the socket's `drain` handler. */
  flush(): void {
    for (let chunk = this.queue[0]; chunk; chunk = this.queue[0]) {
      const written = this.socket.write(chunk);
      if (written < 0) return this.forget(); // the socket is closed: nobody will read it
      this.pendingBytes -= written;
      if (written < chunk.length) {
        this.queue[0] = chunk.subarray(written);
        return;
      }
      this.queue.shift();
    }
    if (this.finishing && !this.shutDown) {
      this.shutDown = true;
      this.socket.shutdown();
    }
  }

  /**
   * Once everything is written, sends FIN but keeps reading: closing with unread input makes the
   * kernel reset the connection, which can destroy the reply before the client reads it. A
   * client that does not close in turn is cut off after `graceMs`.
   */
  finish(graceMs = 5_000): void {
    if (this.finishing) return;
    this.finishing = true;
    this.flush();
    setTimeout(() => this.socket.terminate(), graceMs).unref();
  }

  get finished(): boolean {
    return this.finishing;
  }

  private forget(): void {
    this.queue = [];
    this.pendingBytes = 0;
  }
}

/** Listens on host:port and resolves with the first client; later ones are turned away. */
export function acceptOne(
  host: string,
  port: number,
): { listener: TCPSocketListener<Outbox>; client: Promise<ClientInfo> } {
  let found: (info: ClientInfo) => void = () => {};
  const client = new Promise<ClientInfo>((resolve) => (found = resolve));
  let accepted = false;
  const listener: TCPSocketListener<Outbox> = Bun.listen<Outbox>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        socket.data = new Outbox(socket);
        if (accepted) return socket.data.finish(); // connected before stop() below took effect
        accepted = true;
        listener.stop(); // no more clients; the accepted one stays connected
        const info: ClientInfo = {
          address: socket.remoteAddress,
          port: socket.remotePort,
          family: socket.remoteFamily,
          local: formatEndpoint(socket.localAddress, socket.localPort),
        };
        const you = formatEndpoint(info.address, info.port);
        socket.data.send(`hello ${you}: you reached ${info.local} over ${info.family}\n`);
        socket.data.finish();
        found(info);
      },
      drain: (socket) => socket.data.flush(),
      data() {}, // what the client types is read and ignored: this server only greets
    },
  });
  return { listener, client };
}

const usage = `usage: bun run 04-server/02-accept.ts [--host 127.0.0.1] [--port 5000]

Waits for one TCP client, prints its address, port and family, greets it and exits.
  --host IP     address to listen on (127.0.0.1, ::1, 0.0.0.0, ...)
  --port N      port to listen on, 0 = any free port (default 5000)`;

if (import.meta.main) {
  const { host, port } = parseServerArgs(usage);
  const { listener, client } = listenOrExit(() => acceptOne(host, port), host, port);
  const here = formatEndpoint(listener.hostname, listener.port);
  stopOnSignals(() => listener.stop(true)); // before `listening on`: see cli.ts
  console.log(`listening on ${here} (tcp)`);
  console.log(`waiting for one client: try  nc ${listener.hostname} ${listener.port}`);
  const info = await client;
  console.log(
    `accepted a client from ${formatEndpoint(info.address, info.port)} (${info.family}) on ${info.local}`,
  );
  console.log("greeted it and closed the connection; the listener is closed too, so exiting");
}
