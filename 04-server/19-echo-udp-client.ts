/**
 * @title Echo client over UDP
 * @summary Send a message or typed lines to any UDP echo server (RFC 862), one datagram each, and prove each came back.
 * @run bun run 04-server/19-echo-udp-client.ts [--message TEXT] [--host HOST] [--port PORT] [--json]
 * @python new
 *
 * Over UDP a message is one datagram and so is its echo: no stream to frame, no close to wait
 * for. A datagram may be lost, so `ask()` (lib/udp.ts) sends it again after a second of
 * silence, 3 times, and takes a reply only from the server. With no --message the lines you
 * type go out, one datagram each. With no --host and no --port it starts lesson 18's server.
 */
import { command, endpoint, fail, flag, peerOrStart, whyConnectFailed } from "../lib/cli.ts";
import { ask } from "../lib/udp.ts";

/** Sends each message as one datagram and compares each echo with it. */
export async function checkEcho(host: string, port: number, messages: Messages, onEcho = NO_ECHO) {
  const started = performance.now();
  const totals = { datagrams: 0, sentBytes: 0, receivedBytes: 0, identical: true };
  for await (const message of messages) {
    const { reply } = await ask(host, port, message).catch(async (error: unknown) => {
      throw new Error(await whyConnectFailed(error, host, port, "udp"));
    });
    onEcho(reply);
    totals.datagrams++;
    totals.sentBytes += message.length;
    totals.receivedBytes += reply.length;
    if (!reply.equals(message)) totals.identical = false;
  }
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  return { host, port, ...totals, ms };
}

type Messages = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
const NO_ECHO = (_: Buffer): void => {};

/** Typed lines, without their "\n": a datagram needs no frame. Empty ones are skipped. */
async function* typedLines(): AsyncGenerator<Uint8Array> {
  for await (const line of console) if (line !== "") yield Buffer.from(line);
}

const cli = command(
  "04-server/19-echo-udp-client.ts",
  "Checks a UDP echo server (RFC 862); with no --host or --port, lesson 18's.",
  {
    message: flag.text(undefined, "send this text (default: the lines you type)"),
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its port (default 7, the standard echo port)", { min: 1 }),
    json: flag.bool("print one JSON document instead of text"),
  },
);

if (import.meta.main) {
  const { message, host, port, json } = cli.parse();
  const serverFile = `${import.meta.dir}/18-echo-udp-server.ts`;
  const peer = await peerOrStart({ host, port }, { serverFile, defaultPort: 7 });
  // Typed lines: say so, or the program would look hung; then print each echo as it comes.
  const typed = message === undefined && !json;
  if (typed) console.log("type lines: each goes as one datagram and comes back; Ctrl-D ends");
  const show = typed ? (reply: Buffer) => console.log(reply.toString()) : NO_ECHO;
  const messages = message === undefined ? typedLines() : [Buffer.from(message)];
  const checking = checkEcho(peer.host, peer.port, messages, show);
  const result = await checking.catch((error: Error) => fail(error.message));
  await peer.local?.stop();
  const where = `${endpoint(peer.host, peer.port)} (udp)`;
  const { datagrams, sentBytes, receivedBytes, identical } = result;
  if (json) console.log(JSON.stringify(result));
  else
    console.log(
      `${datagrams} datagram(s), ${sentBytes} bytes sent to ${where}, ${receivedBytes} back`,
    );
  if (!identical) fail("an echo differs from its datagram: not a faithful echo");
  if (!json) console.log("every echo is identical to its datagram");
}
