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
 */
import { parseArgs } from "node:util";
import { startTcpServer } from "./01-tcp-server.ts";
import { commandLine, endpoint, parsePort, reason } from "./command-line.ts";
import { LineSplitter, parseReply, type Reply, show, TCP_PORT } from "./protocol.ts";

export type CalcResult = { request: string } & Reply;

/**
 * Sends every request (a list, or lines as they are typed) on one connection and resolves
 * with the replies in request order; rejects with a sentence if the server fails us.
 */
export async function calculate(
  requests: Iterable<string> | AsyncIterable<string>,
  {
    host = "127.0.0.1",
    port = TCP_PORT,
    onResult = () => {},
  }: { host?: string; port?: number; onResult?: (result: CalcResult) => void } = {},
): Promise<CalcResult[]> {
  const [results, outbox]: [CalcResult[], Buffer[]] = [[], []];
  const waiting: string[] = []; // sent, not answered yet, oldest first
  const replies = new LineSplitter(8192);
  let inputDone = false;
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  const finish = (error?: Error): void => (error ? reject(error) : resolve());
  const flush = (): void => {
    for (let chunk = outbox[0]; chunk; chunk = outbox[0]) {
      const written = socket.write(chunk);
      if (written < chunk.length) {
        if (written > 0) outbox[0] = chunk.subarray(written);
        return; // the rest goes out on `drain`
      }
      outbox.shift();
    }
    // Everything sent: half-close (FIN) so the server knows, and keep reading its replies.
    if (inputDone) socket.shutdown();
  };
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
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
    },
  });
  const feed = async (): Promise<void> => {
    for await (const request of requests) {
      if (request.trim() === "") continue;
      waiting.push(request);
      outbox.push(Buffer.from(`${request}\n`));
      flush();
    }
    inputDone = true;
    if (waiting.length > 0) return flush();
    socket.end(); // every reply is in already (or there was nothing to ask)
    finish();
  };
  done.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
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
    const onResult = (result: CalcResult): void => {
      if (!values.json) console.log(describe(result));
    };
    const results = await calculate(requests, { host, port, onResult });
    if (values.json)
      console.log(JSON.stringify({ server, local: local !== null, results }, null, 2));
  } catch (error) {
    const refused = (error as NodeJS.ErrnoException).code === "ECONNREFUSED";
    console.error(
      refused
        ? `could not connect to ${server}: connection refused; is the calculator server running there?`
        : `${server}: ${reason(error)}`,
    );
    process.exit(1);
  } finally {
    local?.stop();
  }
  process.exit(0);
}
