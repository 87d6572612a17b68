/**
 * @title Daytime client over UDP
 * @summary Ask any daytime server (RFC 867) for the time over UDP: a padded datagram, sent again on silence.
 * @run bun run 04-server/15-daytime-udp-client.ts [--host HOST] [--port PORT] [--wait 1] [--json]
 * @python new
 *
 * Over UDP a lost datagram is silence: `ask()` (lib/udp.ts) waits a second and asks again, 3
 * times, and takes a reply only from the server. The request is padded to 64 bytes, so a
 * careful server can answer without sending more than it got. With no --host and no --port
 * it asks lesson 14's server, started for this run.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";
import { DAYTIME_REQUEST } from "./protocol.ts";

/** A padded request, sent again after each silence of `waitMs`, 3 times in all. */
export async function askDaytime(host: string, port: number, waitMs = 1_000) {
  const started = performance.now();
  const asking = ask(host, port, DAYTIME_REQUEST, { timeoutMs: waitMs });
  const { reply, attempt } = await asking.catch(async (error: unknown) => {
    throw new Error(await whyConnectFailed(error, host, port, "udp"));
  });
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  const time = reply.toString("latin1").trim();
  return { host, port, time, bytes: reply.length, ms, attempts: attempt };
}

const cli = command(
  "04-server/15-daytime-udp-client.ts",
  "Asks a daytime server (RFC 867) over UDP; with no --host or --port, lesson 14's.",
  {
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 13, the standard daytime port)", { min: 1 }),
    wait: flag.decimal(1, "seconds to wait for each of the 3 tries", { min: 0.001, max: 60 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { host, port, wait, json } = cli.parse();
  const serverFile = `${import.meta.dir}/14-daytime-udp-server.ts`;
  const peer = await peerOrStart({ host, port }, { serverFile, defaultPort: 13 });
  const asking = askDaytime(peer.host, peer.port, wait * 1000);
  const answer = await asking.catch((error: Error) => fail(error.message));
  await peer.local?.stop();
  if (json) console.log(JSON.stringify(answer));
  else {
    console.log(`${endpoint(answer.host, answer.port)} (udp) says: ${answer.time}`);
    console.log(`  ${answer.bytes} bytes in ${answer.ms} ms, answered on try ${answer.attempts}`);
  }
}
