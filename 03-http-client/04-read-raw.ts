/**
 * @title Read the raw response
 * @summary Read what the server sends until it closes the connection, and print it as it came.
 * @run bun run 03-http-client/04-read-raw.ts [--host example.com] [--port 80] [--path /] [--max-bytes N] [--idle-timeout S] [--json]
 * @python socket-05.py
 *
 * Python called recv() until it returned nothing. Bun calls `data` with whatever has
 * arrived; how many events and how big is the network's choice, so we count them. Reading
 * until the close needs two guards: an idle timeout, for a server that stops talking but
 * keeps the connection open, and a size cap, for one that never stops.
 */
import { type Connection, connectToHost } from "./02-connect.ts";
import { buildRequest, checkPath, sendAll } from "./03-send-request.ts";
import { CLIENT_FLAGS, clientTarget } from "./08-practice-server.ts";
import * as cli from "./command-line.ts";

export interface ReceiveOptions {
  idleTimeoutMs?: number;
  maxBytes?: number;
  /** Gets each piece as it arrives; returns true when it needs no more (06-http-client.ts). */
  onData?: (chunk: Buffer) => boolean;
}

/** Reads until the peer closes (or `onData` says done); rejects on silence, the cap, a reset. */
export function receive(
  connection: Connection,
  { idleTimeoutMs = 10_000, maxBytes = Infinity, onData = () => false }: ReceiveOptions = {},
): Promise<{ bytes: number; events: number }> {
  let bytes = 0;
  let events = 0;
  let idle: Timer | undefined;
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null): void => {
      clearTimeout(idle);
      connection.listen({ data() {} }); // what comes after this is none of our business
      if (error) connection.socket.terminate(); // hang up at once, without waiting for the rest
      if (error) reject(error);
      else resolve({ bytes, events });
    };
    // Our own timer, restarted by every data event: Bun's socket.timeout() ticks every ~4 s.
    const restartIdleTimer = (): void => {
      clearTimeout(idle);
      const why = `${connection.where} sent nothing for ${idleTimeoutMs / 1000} s (--idle-timeout) and did not close`;
      idle = setTimeout(() => finish(new Error(why)), idleTimeoutMs);
    };
    restartIdleTimer();
    connection.listen({
      data(chunk) {
        bytes += chunk.length;
        events++;
        if (bytes > maxBytes)
          return finish(new Error(`the response passed ${maxBytes} bytes (--max-bytes): stopped`));
        try {
          if (onData(chunk)) return finish(null);
        } catch (error) {
          return finish(error as Error); // onData's own sentence, e.g. a malformed response
        }
        restartIdleTimer();
      },
      close(error) {
        const code = (error as NodeJS.ErrnoException | null)?.code ?? error?.message;
        finish(error && new Error(`the connection to ${connection.where} broke (${code})`));
      },
    });
  });
}

const usage = `usage: bun run 03-http-client/04-read-raw.ts [--host NAME] [--port N] [--path P]
       [--max-bytes N] [--idle-timeout S] [--json]

Sends a GET request and prints the raw response, headers and body, as received.
With no --host and no --port it talks to the chapter's practice server.
  --host NAME        host name or IP address (default 127.0.0.1)
  --port N           port (default 80)
  --path P           what to ask for (default /)
  --max-bytes N      stop with an error past N bytes (default 67108864)
  --idle-timeout S   stop with an error after S seconds of silence (default 10)
  --json             one JSON document: sizes, and the response in base64`;

if (import.meta.main) {
  const flags = {
    ...CLIENT_FLAGS,
    path: { type: "string" },
    "max-bytes": { type: "string" },
    "idle-timeout": { type: "string" },
  } as const;
  const args = cli.parseCommandLine(usage, flags, (values) => ({
    path: checkPath(values.path ?? "/"),
    maxBytes: cli.parseMaxBytes(values["max-bytes"]),
    idleTimeoutMs: cli.parseSeconds("idle-timeout", values["idle-timeout"], 10),
    json: values.json,
    target: clientTarget(values, 80),
  }));
  const { target } = args;
  await cli.runClient(async () => {
    const started = performance.now();
    const connection = await connectToHost(target.host, target.port);
    await sendAll(connection, buildRequest({ ...target, path: args.path }));
    const chunks: Buffer[] = [];
    const keep = (chunk: Buffer): boolean => (chunks.push(chunk), false); // false: not done yet
    const { bytes, events } = await receive(connection, { ...args, onData: keep });
    const ms = Math.round(performance.now() - started);
    const response = Buffer.concat(chunks);
    const sizes = chunks.map((chunk) => chunk.length);
    if (args.json)
      console.log(
        JSON.stringify({ bytes, events, sizes, ms, base64: response.toString("base64") }),
      );
    else {
      process.stdout.write(response);
      const shown = `${sizes.slice(0, 8).join(", ")}${events > 8 ? ", ..." : ""}`;
      console.log(
        `\n--- ${bytes} bytes in ${events} data event(s) (${shown}); then the server closed, after ${ms} ms`,
      );
    }
  }, target.stop);
}
