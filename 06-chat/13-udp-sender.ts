/**
 * @title UDP message sender
 * @summary Send each line you type as one datagram with an id, send it again when no acknowledgement comes, and say whether the server counted it.
 * @run bun run 06-chat/13-udp-sender.ts [--host HOST] [--port PORT] [--attempts 5] [--timeout 0.5] [--lose 0]
 * @python ClienteUDP.py
 *
 * The Taller's ClienteUDP.py sends a datagram and hopes. This one waits for lesson 12's
 * acknowledgement (the id it sent) with lib/udp.ts's `ask()`, which sends again after each
 * silence: "counted" then means counted, and after the last attempt it says it does not
 * know. `--lose 30` pretends that 30% of the acknowledgements were lost on the way back:
 * watch the resends, and the server counting each message once all the same.
 */
import { command, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { counterDatagram, UDP_PORT } from "./protocol.ts";

/**
 * Sends `text` with id `id` until the server acknowledges it; resolves with the attempt that
 * was answered. `lose` (0 to 1) is the share of acknowledgements to ignore, as if lost.
 */
export async function sendCounted(
  host: string,
  port: number,
  id: string,
  text: string,
  options = { attempts: 5, timeoutMs: 500, lose: 0 },
) {
  const { attempts, timeoutMs, lose } = options;
  const accept = (reply: Buffer): boolean => reply.toString() === id && Math.random() >= lose;
  const answer = await ask(host, port, counterDatagram(id, text), { attempts, timeoutMs, accept });
  return answer.attempt;
}

const cli = command(
  "06-chat/13-udp-sender.ts",
  "Send lines to the UDP counter, each until it is acknowledged.",
  {
    host: flag.host(undefined, "the counter; with neither --host nor --port, one is started"),
    port: flag.port(undefined, `its UDP port (default ${UDP_PORT})`, { min: 1 }),
    attempts: flag.whole(5, "datagrams sent for one line before giving up", { min: 1, max: 100 }),
    timeout: flag.decimal(0.5, "seconds to wait for each acknowledgement", { min: 0.01, max: 60 }),
    lose: flag.whole(0, "percent of acknowledgements to ignore, as if lost", { max: 100 }),
  },
);

if (import.meta.main) {
  const flags = cli.parse();
  const serverFile = new URL("12-udp-counter.ts", import.meta.url).href;
  const { host, port, local } = await peerOrStart(flags, { serverFile, defaultPort: UDP_PORT });
  console.log("type a line and Enter to send it; Ctrl-D ends");
  // The id's first part tells this run's messages from another run's.
  const run = crypto.randomUUID().slice(0, 8);
  const options = {
    attempts: flags.attempts,
    timeoutMs: flags.timeout * 1000,
    lose: flags.lose / 100,
  };
  let n = 0;
  for await (const line of console) {
    if (line === "") continue;
    const id = `${run}-${++n}`;
    try {
      const attempt = await sendCounted(host, port, id, line, options);
      console.log(`${id} counted${attempt > 1 ? ` (after ${attempt} attempts)` : ""}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ETIMEDOUT") fail(await whyConnectFailed(error, host, port, "udp"));
      console.log(
        `${id}: no acknowledgement after ${flags.attempts} attempts: lost, or the server is gone`,
      );
    }
  }
  await local?.stop();
}
