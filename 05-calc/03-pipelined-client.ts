/**
 * @title Pipelined calculator client
 * @summary Send every calculation at once, without waiting for replies, and match each reply to its request by order.
 * @run bun run 05-calc/03-pipelined-client.ts [CALCULATION] [--host HOST] [--port PORT] [--json]
 * @python new
 *
 * Lesson 02 waits a round trip for each reply. Here each request goes out as soon as it
 * is read: TCP keeps order and the server answers every line exactly once, so the Nth
 * reply is the Nth request's. At the end of the input the client half-closes (FIN:
 * "nothing more to ask") and still reads. A host that never answers, or a server that
 * goes quiet, ends it in one sentence (5 s, 30 s). With no --host/--port it starts
 * lesson 01's server in this process.
 */
import { command, connect, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";
import { startTcpServer } from "./01-tcp-server.ts";
import { parseReply, type Reply, show, TCP_PORT } from "./protocol.ts";

/**
 * Sends every request (a list, or lines as they are typed) on one connection and resolves
 * with the replies in request order; rejects with a sentence if the server fails us.
 */
export async function calculate(
  requests: Iterable<string> | AsyncIterable<string>,
  { host = "127.0.0.1", port = TCP_PORT, onResult = () => {}, ...limits }: CalcOptions = {},
): Promise<CalcResult[]> {
  const { connectTimeoutMs = 5_000, replyTimeoutMs = 30_000 } = limits;
  const results: CalcResult[] = [];
  // Sent and not answered yet, oldest first: the next reply is the oldest one's.
  const waiting: string[] = [];
  const replies = new LineReader(8192);
  const done = Promise.withResolvers<void>();
  const failed = (why: string): void => done.reject(new Error(why));
  const socket = await connect(
    host,
    port,
    {
      data(socket, chunk) {
        for (const line of replies.push(chunk)) {
          const reply = parseReply(line);
          const request = waiting.shift();
          if (reply === null || request === undefined) {
            failed(`the server sent something that is not a reply: ${show(line)}`);
            return;
          }
          results.push({ request, ...reply });
          onResult({ request, ...reply });
        }
        if (replies.tooLong) failed("the server sent a reply line over 8192 bytes");
        silence.refresh();
        if (sending.ended && waiting.length === 0) done.resolve();
      },
      drain: () => sending.flush(),
      close() {
        const unanswered = `with ${waiting.length} request(s) unanswered`;
        failed(`the server closed the connection ${waiting.length > 0 ? unanswered : "too early"}`);
      },
      error(_socket, error) {
        failed(`the connection failed: ${error.message}`);
      },
    },
    connectTimeoutMs,
  );
  // Our FIN does not end the wait for replies: the silence timer decides when a server
  // has gone quiet, so the Outbox's grace after `end()` is made as long as a timer goes.
  const sending = new Outbox(socket, { graceMs: Number.POSITIVE_INFINITY });
  const silence = setTimeout(() => {
    if (waiting.length > 0)
      failed(`no reply within ${replyTimeoutMs / 1000} s; is it a calculator server?`);
  }, replyTimeoutMs);
  const ask = async (): Promise<void> => {
    for await (const request of requests) {
      if (request.trim() === "") continue;
      // The first request in a while: the server's time to answer starts now.
      if (waiting.push(request) === 1) silence.refresh();
      sending.send(`${request}\n`);
    }
    // Everything is asked: half-close (FIN) once it is sent, and keep reading the replies.
    sending.end();
    if (waiting.length === 0) done.resolve();
  };
  try {
    // A failure ends the wait at once, even while the user is still typing.
    await Promise.all([ask(), done.promise]);
    return results;
  } finally {
    clearTimeout(silence);
    socket.end();
  }
}

export type CalcResult = { request: string } & Reply;

export interface CalcOptions {
  host?: string;
  port?: number;
  onResult?: (result: CalcResult) => void;
  /** Limits in ms: to be connected, and for each reply (a server that never answers). */
  connectTimeoutMs?: number;
  replyTimeoutMs?: number;
}

export function describe({ request, ...reply }: CalcResult): string {
  const shown = request.length > 60 ? `${request.slice(0, 40)}...` : request;
  return reply.ok ? `${shown} = ${reply.value}` : `${shown} -> ${reply.code}: ${reply.message}`;
}

const cli = command(
  "05-calc/03-pipelined-client.ts",
  "Sends CALCULATION, else each line of stdin, to the TCP calculator; prints the replies.",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 01's server here)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
    json: flag.bool("print the results as one JSON document"),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "12 * 30" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, json, ...given } = cli.parse();
  const offline = given.host === undefined && given.port === undefined;
  const local = offline ? startTcpServer({ port: 0, log() {} }) : undefined;
  const host = given.host ?? "127.0.0.1";
  const port = local?.tcp.port ?? given.port ?? TCP_PORT;
  const server = endpoint(host, port);
  const say = (line: string): void => {
    if (!json) console.log(line);
  };
  if (local) say(`no --host/--port: started lesson 01's server in this process on ${server}`);
  if (words.length === 0)
    say("type a calculation a line (12 + 30, 2 ^ 64, isprime 97); Ctrl-D ends");
  try {
    const requests = words.length > 0 ? [words.join(" ").trim()] : console;
    const results = await calculate(requests, { host, port, onResult: (r) => say(describe(r)) });
    if (json) console.log(JSON.stringify({ server, local: offline, results }, null, 2));
  } catch (error) {
    // An error with a code is the connection's (refused, timed out); one without, the server's.
    if ((error as NodeJS.ErrnoException).code) fail(await whyConnectFailed(error, host, port));
    fail(`${server}: ${(error as Error).message}`);
  }
  local?.stop();
  process.exit(0);
}
