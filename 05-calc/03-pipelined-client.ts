/**
 * @title Pipelined calculator client
 * @summary Send every calculation at once, without waiting for replies, and match each reply to its request by order.
 * @run bun run 05-calc/03-pipelined-client.ts [CALCULATION] [--host HOST] [--port PORT] [--json]
 * @python new
 *
 * Lesson 02 waits a round trip for each reply. Here each request goes out as soon as it is
 * read: TCP keeps order and the server answers every line once, so the Nth reply is the Nth
 * request's. At the end of the input the client half-closes (FIN: "nothing more to ask")
 * and still reads. A host that never answers, or a server that goes quiet, ends it in one
 * sentence (5 s, 30 s). With no --host/--port it starts lesson 01's server.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { parseReply, type Reply, show, TCP_PORT } from "./protocol.ts";

/** Sends every request at once and resolves with the replies, matched to them by order. */
export async function calculate(
  requests: Iterable<string> | AsyncIterable<string>,
  { host = "127.0.0.1", port = TCP_PORT, onResult = () => {}, ...limits }: CalcOptions = {},
): Promise<CalcResult[]> {
  const { connectTimeoutMs = 5_000, replyTimeoutMs = 30_000 } = limits;
  const server = await connectLines(host, port, { connectTimeoutMs });
  const results: CalcResult[] = [];
  // Sent and not answered yet, oldest first: the next reply is the oldest one's.
  const waiting: string[] = [];
  const failed = Promise.withResolvers<never>();
  let reading = Promise.resolve();
  /** Reads while requests wait; a silence of replyTimeoutMs meanwhile is an error. */
  async function readReplies(): Promise<void> {
    while (waiting.length > 0) {
      const line = await server.next(replyTimeoutMs).catch(silence(replyTimeoutMs));
      const unanswered = `${waiting.length} request(s) unanswered`;
      if (line === undefined)
        throw new Error(`the server closed the connection with ${unanswered}`);
      const reply = parseReply(line);
      if (reply === null)
        throw new Error(`the server sent something that is not a reply: ${show(line)}`);
      results.push({ request: waiting.shift() as string, ...reply });
      onResult(results.at(-1) as CalcResult);
    }
  }
  async function sendAll(): Promise<void> {
    for await (const request of requests) {
      if (request.trim() === "") continue;
      waiting.push(request);
      server.send(`${request}\n`);
      if (waiting.length === 1) reading = readReplies().catch(failed.reject);
    }
    // Everything is asked: half-close (FIN) once it is sent, and keep reading the replies.
    server.end();
    await reading;
  }
  try {
    // A failure ends the wait at once, even while the user is still typing.
    await Promise.race([sendAll(), failed.promise]);
    return results;
  } finally {
    server.close();
  }
}

/** A time limit that passed is the server's silence; any other error is the connection's. */
const silence = (ms: number) => (error: NodeJS.ErrnoException) => {
  if (error.code !== "ETIMEDOUT") throw error;
  throw new Error(`no reply within ${ms / 1000} s; is it a calculator server?`);
};

export type CalcResult = { request: string } & Reply;
/** Where to ask, what to do with each result, and the limits in ms: to connect, per reply. */
export type CalcOptions = Partial<{ host: string; port: number; onResult(r: CalcResult): void }> &
  Partial<Record<"connectTimeoutMs" | "replyTimeoutMs", number>>;

export function describe({ request, ...reply }: CalcResult): string {
  const shown = request.length > 60 ? `${request.slice(0, 40)}...` : request;
  return reply.ok ? `${shown} = ${reply.value}` : `${shown} -> ${reply.code}: ${reply.message}`;
}

const cli = command(
  "05-calc/03-pipelined-client.ts",
  "Sends CALCULATION, else each line of stdin, to the TCP calculator; prints the replies.",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 01's server)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
    json: flag.bool("print the results as one JSON document"),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "12 * 30" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, json, ...given } = cli.parse();
  const serverFile = new URL("./01-tcp-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(given, { serverFile, defaultPort: TCP_PORT });
  const say = (line: string): void => {
    if (!json) console.log(line);
  };
  if (words.length === 0)
    say("type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends");
  const requests = words.length > 0 ? [words.join(" ").trim()] : console;
  const server = endpoint(host, port);
  try {
    const results = await calculate(requests, { host, port, onResult: (r) => say(describe(r)) });
    if (json) console.log(JSON.stringify({ server, local: local !== undefined, results }, null, 2));
  } catch (error) {
    // An error with a code is the connection's (refused, timed out); one without, the server's.
    if ((error as NodeJS.ErrnoException).code) fail(await whyConnectFailed(error, host, port));
    fail(`${server}: ${(error as Error).message}`);
  }
  await local?.stop();
  process.exit(0);
}
