/**
 * @title TCP calculator client
 * @summary Send calculations (from the arguments, or one per line on stdin) and print each reply.
 * @run bun run 05-calc/02-tcp-client.ts [--host 127.0.0.1 --port 65432] [--json] ["12 * 30"]
 * @python tcp/client_calc.py
 *
 * With no --host/--port it starts lesson 01's server in this process, on a free port, and says
 * so. Requests are pipelined: each goes out as soon as it is read, without waiting for the
 * previous reply. That is safe because TCP keeps order and the server answers every line
 * exactly once, so the Nth reply belongs to the Nth request. Quote `*`, or the shell expands it.
 * A host that never answers, or a server that goes quiet, ends it in one sentence (5 s, 30 s).
 */
import type { SocketHandler } from "bun";
import { parseArgs } from "node:util";
import { startTcpServer } from "./01-tcp-server.ts";
import { CONNECT_TIMEOUT_MS, commandLine, connectWithin } from "./command-line.ts";
import { endpoint, parsePort, reason } from "./command-line.ts";
import { LineSplitter, parseReply, type Reply, show, TCP_PORT, writeSome } from "./protocol.ts";

export type CalcResult = { request: string } & Reply;

export interface CalcOptions {
  host?: string;
  port?: number;
  onResult?: (result: CalcResult) => void;
  /** Limits in ms: to be connected, and for each reply (a server that never answers). */
  connectTimeoutMs?: number;
  replyTimeoutMs?: number;
}

/**
 * Sends every request (a list, or lines as they are typed) on one connection and resolves
 * with the replies in request order; rejects with a sentence if the server fails us.
 */
export async function calculate(
  requests: Iterable<string> | AsyncIterable<string>,
  { host = "127.0.0.1", port = TCP_PORT, onResult = () => {}, ...limits }: CalcOptions = {},
): Promise<CalcResult[]> {
  const [results, waiting]: [CalcResult[], string[]] = [[], []]; // waiting: sent, not answered
  const replies = new LineSplitter(8192);
  let [inputDone, unsent]: [boolean, Buffer] = [false, Buffer.alloc(0)];
  let silence: Timer | undefined; // see watch()
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => (error ? reject(error) : resolve());
  // While a request waits, each reply restarts the clock: a server gets that long to speak.
  const { connectTimeoutMs, replyTimeoutMs = 30_000 } = limits;
  const watch = (): void => {
    clearTimeout(silence);
    const why = `no reply within ${replyTimeoutMs / 1000} s; is it a calculator server?`;
    if (waiting.length > 0)
      silence = setTimeout(() => (finish(new Error(why)), socket.end()), replyTimeoutMs);
  };
  const flush = (text = ""): void => {
    unsent = writeSome(socket, unsent, text); // what the kernel did not take goes on `drain`
    // Everything sent: half-close (FIN) so the server knows, and keep reading its replies.
    if (inputDone && unsent.length === 0) socket.shutdown();
  };
  const handlers: SocketHandler = {
    data(socket, chunk) {
      const { lines, overflow } = replies.push(chunk);
      for (const line of lines) {
        const reply = parseReply(line);
        const request = waiting.shift();
        if (!reply || request === undefined) {
          finish(new Error(`the server sent something that is not a reply: ${show(line)}`));
          return void socket.end(); // after finish(): end() runs close() at once
        }
        results.push({ request, ...reply });
        onResult({ request, ...reply });
      }
      if (overflow) finish(new Error("the server sent a reply line over 8192 bytes"));
      if (overflow || (inputDone && waiting.length === 0)) socket.end();
      watch();
    },
    drain: () => flush(),
    close() {
      if (inputDone && waiting.length === 0) return finish();
      const unanswered = waiting.length > 0 ? `with ${waiting.length} request(s) unanswered` : "";
      finish(new Error(`the server closed the connection ${unanswered || "too early"}`));
    },
    error(_socket, error) {
      finish(new Error(`the connection failed: ${error.message}`));
    },
  };
  const socket = await connectWithin(host, port, handlers, connectTimeoutMs);
  const feed = async (): Promise<void> => {
    for await (const request of requests) {
      if (request.trim() === "") continue;
      if (waiting.push(request) === 1) watch();
      flush(`${request}\n`);
    }
    inputDone = true;
    if (waiting.length > 0) return flush();
    socket.end(); // every reply is in already (or there was nothing to ask)
    finish();
  };
  const stopWatching = (): void => clearTimeout(silence);
  done.then(stopWatching, stopWatching); // also keeps an early failure from being "unhandled"
  await Promise.all([feed(), done]);
  return results;
}

export function describe({ request, ...reply }: CalcResult): string {
  const shown = request.length > 60 ? `${request.slice(0, 40)}...` : request;
  return reply.ok ? `${shown} = ${reply.value}` : `${shown} -> ${reply.code}: ${reply.message}`;
}

const usage = `usage: bun run 05-calc/02-tcp-client.ts [--host HOST] [--port PORT] [--json] [CALCULATION]
Sends CALCULATION (e.g. "12 * 30", quoted; " -5 + 3" with a space first), else each line
of stdin, to the TCP calculator and prints the replies in order; --json: as one JSON document.
With no --host/--port it starts a calculator server in this process.`;

if (import.meta.main) {
  const { values, positionals } = commandLine(usage, () => {
    const parsed = parseArgs({
      allowPositionals: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
    if (parsed.values.port !== undefined) parsePort(parsed.values.port);
    return parsed;
  });
  const host = values.host ?? "127.0.0.1";
  const local = (values.host ?? values.port) ? null : startTcpServer({ port: 0, log: () => {} });
  const port = local?.port ?? parsePort(values.port ?? String(TCP_PORT));
  const server = endpoint(host, port);
  if (local && !values.json)
    console.log(`no --host/--port: started a calculator server in this process on ${server}`);
  try {
    const requests = positionals.length > 0 ? [positionals.join(" ")] : console;
    const onResult = (result: CalcResult) => values.json || console.log(describe(result));
    const results = await calculate(requests, { host, port, onResult });
    if (values.json)
      console.log(JSON.stringify({ server, local: local !== null, results }, null, 2));
  } catch (error) {
    // An error with a code is the connection's (refused, timed out); one without, the server's.
    const connecting = (error as NodeJS.ErrnoException).code ? "could not connect to " : "";
    console.error(`${connecting}${server}: ${reason(error)}`);
    process.exit(1);
  } finally {
    local?.stop();
  }
  process.exit(0);
}
