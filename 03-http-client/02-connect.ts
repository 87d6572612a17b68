/**
 * @title Connect
 * @summary Open a TCP connection to a host and port, and show both of its ends.
 * @run bun run 03-http-client/02-connect.ts [--host example.com] [--port 80] [--timeout 5] [--json]
 * @python socket-01.py socket-03.py
 *
 * Python made a socket object, then connected it; `Bun.connect` does both and reports
 * through events: open, data, drain, close, connectError. A connection has two ends: the
 * peer's address and port, and ours, whose port the kernel picked. A name may have several
 * addresses, so we try each in turn. With no --host it connects to the practice server.
 */
import type { Socket, TLSOptions } from "bun";
import { type Resolver, resolveHost } from "./01-resolve.ts";
import * as cli from "./command-line.ts";
import { CLIENT_FLAGS, clientTarget } from "./08-practice-server.ts"; // when no --host is given

type Listeners = { data?(chunk: Buffer): void; drain?(): void; close?(why: Error | null): void };

export class Connection {
  socket!: Socket<Connection>;
  where = "";
  connectMs = 0;
  /** null while open; once closed, why (an error, or null for a normal close). */
  closed: { error: Error | null } | null = null;
  /** TLS only: what the handshake said about the peer's certificate (05-tls.ts reads it). */
  authorizationError: Error | null = null;
  /** Bytes that arrived before anyone listened: a data event is never lost. */
  early: Buffer[] = [];
  listeners: Listeners = {};

  /** Sets what the next lessons listen for, first handing over what they missed. */
  listen(listeners: Listeners): void {
    this.listeners = listeners;
    for (const chunk of this.early.splice(0)) listeners.data?.(chunk);
    if (this.closed && this.listeners === listeners) listeners.close?.(this.closed.error);
  }
  close(): void {
    this.socket.end();
  }
}

const WHY: Record<string, string> = {
  ECONNREFUSED: "nothing listens there (connection refused); check the port, or start the server",
  EHOSTUNREACH: "no route to that host; check the address and your network",
  ENETUNREACH: "no route to that network; check the address and your network",
};

export type ConnectOptions = { timeoutMs?: number; tls?: TLSOptions; resolver?: Resolver };

/** Connects to one address within `timeoutMs`; rejects with one sentence when it cannot. */
export function connect(address: string, port: number, options: ConnectOptions = {}) {
  const { timeoutMs = 5_000, tls } = options;
  const connection = new Connection();
  const where = (connection.where = cli.formatEndpoint(address, port));
  const started = performance.now();
  const { promise, resolve, reject } = Promise.withResolvers<Connection>();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reject(new Error(`no connection to ${where} within ${timeoutMs / 1000} s: is it up?`));
    connection.socket?.terminate(); // ends a TLS handshake; a TCP connect cannot be called off
  }, timeoutMs);
  const ready = (): void => {
    clearTimeout(timer);
    connection.connectMs = performance.now() - started;
    resolve(connection);
  };
  try {
    Bun.connect<Connection>({
      hostname: address,
      port,
      data: connection,
      tls,
      socket: {
        open(socket) {
          if (timedOut) return socket.terminate(); // too late: we gave up already
          connection.socket = socket;
          if (!tls) ready(); // with TLS, it is ready when the handshake is over
        },
        handshake(_socket, _success, error) {
          connection.authorizationError = error;
          ready();
        },
        data(socket, chunk) {
          if (socket.data.listeners.data) socket.data.listeners.data(chunk);
          else socket.data.early.push(chunk);
        },
        drain: (socket) => socket.data.listeners.drain?.(),
        close(socket, error) {
          socket.data.closed = { error: error ?? null };
          socket.data.listeners.close?.(error ?? null);
        },
        connectError(_socket, error) {
          clearTimeout(timer);
          const code = (error as NodeJS.ErrnoException).code ?? error.message;
          reject(new Error(`cannot connect to ${where}: ${WHY[code] ?? `it failed (${code})`}`));
        },
      },
    }).catch(() => {}); // connectError has explained it already
  } catch (error) {
    clearTimeout(timer); // Bun checks the TLS options at once: a bad --ca file throws here
    reject(new Error(`cannot connect to ${where}: ${(error as Error).message} (check --ca)`));
  }
  return promise;
}

/** Resolves `host`, then tries each of its addresses in turn until one accepts. */
export async function connectToHost(host: string, port: number, options: ConnectOptions = {}) {
  let lastError: unknown;
  for (const { address } of await resolveHost(host, options.resolver)) {
    try {
      return await connect(address, port, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

const usage = `usage: bun run 03-http-client/02-connect.ts [--host NAME] [--port N] [--timeout S] [--json]

Connects over TCP and shows both ends (with no --host and --port: to the practice server).
  --host NAME    host name or IP address (default 127.0.0.1)
  --port N       port (default 80)
  --timeout S    give up connecting after S seconds (default 5)
  --json         print one JSON document instead of text`;

if (import.meta.main) {
  const flags = { ...CLIENT_FLAGS, timeout: { type: "string" } } as const;
  const { target, timeoutMs, json } = cli.parseCommandLine(usage, flags, (values) => ({
    timeoutMs: cli.parseSeconds("timeout", values.timeout, 5),
    json: values.json,
    target: clientTarget(values, 80),
  }));
  await cli.runClient(async () => {
    const connection = await connectToHost(target.host, target.port, { timeoutMs });
    const { localAddress, localPort, localFamily, remoteAddress, remotePort } = connection.socket;
    const connectMs = Math.round(connection.connectMs * 10) / 10;
    connection.close();
    const local = { address: localAddress, port: localPort, family: localFamily };
    const remote = { address: remoteAddress, port: remotePort };
    if (json) console.log(JSON.stringify({ ...target, local, remote, connectMs }));
    else
      console.log(`connected to ${target.host} port ${target.port} in ${connectMs} ms, and closed again
  our end:   ${cli.formatEndpoint(localAddress, localPort)} (${localFamily}; the kernel picked the port)
  their end: ${cli.formatEndpoint(remoteAddress, remotePort)}`);
  }, target.stop);
}
