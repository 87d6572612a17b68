/**
 * @title TCP calculator client
 * @summary Ask one calculation at a time: send a line, wait for its reply line, print it, ask the next.
 * @run bun run 05-calc/02-tcp-client.ts [CALCULATION] [--host HOST] [--port PORT]
 * @python tcp/client_calc.py
 *
 * The lab's client: type a calculation, read the answer, type the next. The reply may
 * come in any number of `data` events, so the client reads until its newline. With no
 * --host/--port it starts lesson 01's server in this process and says so; with no
 * CALCULATION it asks for one a line (`>`). Waiting for each reply costs a round trip
 * per request: lesson 03 stops waiting.
 */
import { command, connect, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";
import { startTcpServer } from "./01-tcp-server.ts";
import { TCP_PORT } from "./protocol.ts";

/** A connection to a calculator: `ask(line)` sends one request and resolves with its reply. */
export async function openCalculator(host: string, port: number, timeoutMs = 30_000) {
  const replies = new LineReader(8192);
  let waiting: PromiseWithResolvers<string> | undefined;
  let closed = false;
  const socket = await connect(host, port, {
    data(_socket, chunk) {
      for (const line of replies.push(chunk)) waiting?.resolve(line);
    },
    drain: () => outbox.flush(),
    close() {
      closed = true;
      waiting?.reject(new Error("the server closed the connection"));
    },
  });
  const outbox = new Outbox(socket);
  const ask = async (line: string): Promise<string> => {
    if (closed) throw new Error("the server closed the connection");
    waiting = Promise.withResolvers<string>();
    outbox.send(`${line}\n`);
    const why = `no reply within ${timeoutMs / 1000} s; is it a calculator server?`;
    const timer = setTimeout(() => waiting?.reject(new Error(why)), timeoutMs);
    try {
      return await waiting.promise;
    } finally {
      clearTimeout(timer);
      waiting = undefined;
    }
  };
  return { ask, close: () => socket.end() };
}

/** The lab's loop: a prompt, a line typed, its reply; until Ctrl-D ends the input. */
async function askEachLine(ask: (line: string) => Promise<string>): Promise<void> {
  process.stdout.write("> ");
  for await (const line of console) {
    if (line.trim() === "") continue;
    console.log(await ask(line));
    process.stdout.write("> ");
  }
  console.log();
}

const cli = command(
  "05-calc/02-tcp-client.ts",
  "Asks CALCULATION, else each line typed, one at a time.",
  {
    host: flag.host(undefined, "the server (no --host/--port: start lesson 01's server here)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "12 * 30" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, ...given } = cli.parse();
  const offline = given.host === undefined && given.port === undefined;
  const local = offline ? startTcpServer({ port: 0, log() {} }) : undefined;
  const host = given.host ?? "127.0.0.1";
  const port = local?.tcp.port ?? given.port ?? TCP_PORT;
  if (local)
    console.log(
      `no --host/--port: started lesson 01's server in this process on ${endpoint(host, port)}`,
    );
  const calculator = await openCalculator(host, port).catch(async (error) =>
    fail(await whyConnectFailed(error, host, port)),
  );
  try {
    if (words.length > 0) console.log(await calculator.ask(words.join(" ").trim()));
    else await askEachLine(calculator.ask);
  } catch (error) {
    fail(`${endpoint(host, port)}: ${(error as Error).message}`);
  }
  calculator.close();
  process.exit(0);
}
