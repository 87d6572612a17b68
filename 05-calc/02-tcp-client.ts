/**
 * @title TCP calculator client
 * @summary Ask one calculation at a time: send a line, wait for its reply line, print it, ask the next.
 * @run bun run 05-calc/02-tcp-client.ts [CALCULATION] [--host HOST] [--port PORT]
 * @python tcp/client_calc.py
 *
 * The lab's client: type a calculation, read the answer, type the next. The reply may come
 * in any number of `data` events, so `connectLines` (lib/lines.ts) reads up to its newline
 * and `next()` hands over the whole line. With no --host/--port it starts lesson 01's server
 * and says so; with no CALCULATION it asks for one a line (`>`). Waiting for each reply costs
 * a round trip per request: lesson 03 stops waiting.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { TCP_PORT } from "./protocol.ts";

/** A connection to a calculator: `ask(line)` sends one request and resolves with its reply. */
export async function openCalculator(host: string, port: number, timeoutMs = 30_000) {
  const server = await connectLines(host, port);
  async function ask(calculation: string): Promise<string> {
    server.send(`${calculation}\n`);
    const reply = await server.next(timeoutMs).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ETIMEDOUT") throw error;
      throw new Error(`no reply within ${timeoutMs / 1000} s; is it a calculator server?`);
    });
    if (reply === undefined) throw new Error("the server closed the connection");
    return reply;
  }
  return { ask, close: () => server.end() };
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
    host: flag.host(undefined, "the server (no --host/--port: start lesson 01's server)"),
    port: flag.port(undefined, `the server's port (${TCP_PORT} with --host)`, { min: 1 }),
  },
  { shown: "[CALCULATION]", help: 'one calculation, e.g. "12 * 30" (quote * for the shell)' },
);

if (import.meta.main) {
  const { words, ...given } = cli.parse();
  const serverFile = new URL("./01-tcp-server.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(given, { serverFile, defaultPort: TCP_PORT });
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
  await local?.stop();
  process.exit(0);
}
