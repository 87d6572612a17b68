/**
 * @title TCP and UDP client
 * @summary Choose tcp or udp, then send each line you type to lesson 20's server and print its reply, until `exit`.
 * @run bun run 04-server/21-dual-client.ts [--protocol tcp|udp] [--host HOST] [--port PORT] [--udp-port PORT]
 * @python informe#client
 *
 * The Informe's client took whatever one recv(1024) returned as the reply: a reply split in
 * two, or two in one read, would garble the conversation. Over TCP this client reads up to
 * the newline that ends each reply; over UDP a reply is one datagram, its request padded to
 * 1200 bytes (as QUIC pads) so the server may answer, and resent on silence. `exit` (or
 * Ctrl-D) ends this conversation, not the server. With no address it starts lesson 20's.
 */
import { command, endpoint, fail, flag, peerOrStart, UsageError } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";
import { connectLines } from "../lib/lines.ts";
import { ask } from "../lib/udp.ts";
import { padded } from "./protocol.ts";

/** A reply that has not come by then is an error, not a wait. */
const REPLY_TIMEOUT_MS = 10_000;

/** One conversation: `say()` sends a message and resolves with the server's reply. */
export interface Conversation {
  say(message: string): Promise<string>;
  close(): void;
}

/** TCP: messages and replies are lines on one connection, read with `connectLines()`. */
export async function talkOverTcp(host: string, port: number): Promise<Conversation> {
  const where = endpoint(host, port);
  const server = await connectLines(host, port).catch(async (error: unknown) => {
    throw new Error(await whyConnectFailed(error, host, port));
  });
  async function say(message: string): Promise<string> {
    server.send(`${message}\n`);
    const reply = await server.next(REPLY_TIMEOUT_MS).catch((error: NodeJS.ErrnoException) => {
      const late = `${where} did not reply within ${REPLY_TIMEOUT_MS} ms`;
      throw new Error(error.code === "ETIMEDOUT" ? late : error.message);
    });
    if (reply === undefined) throw new Error(`${where} closed the connection without a reply`);
    return reply;
  }
  return { say, close: () => server.end() };
}

/** UDP: a message is a padded datagram, and its reply one datagram; `ask()` resends on silence. */
export function talkOverUdp(host: string, port: number): Conversation {
  async function say(message: string): Promise<string> {
    try {
      const { reply } = await ask(host, port, padded(Buffer.from(message)));
      return reply.toString("utf8");
    } catch (error) {
      throw new Error(await whyConnectFailed(error, host, port, "udp"));
    }
  }
  return { say, close: () => {} };
}

/** Reads typed lines: the first answers "tcp or udp?" unless --protocol did. */
async function converse(host: string, ports: { tcp: number; udp: number }, given?: "tcp" | "udp") {
  // On a terminal, a prompt before each line; piped, none (it would clutter the output).
  const prompt = (text: string) => {
    if (process.stdin.isTTY) process.stdout.write(text);
  };
  let protocol = given;
  let conversation: Conversation | undefined;
  if (!protocol) prompt("TCP or UDP? (tcp/udp): ");
  try {
    for await (const typed of console) {
      const line = typed.trim();
      if (!protocol) {
        if (line === "tcp" || line === "udp") protocol = line;
        else console.log(`please answer tcp or udp (got "${line}")`);
      } else if (line !== "") {
        // Connects on the first message.
        conversation ??=
          protocol === "tcp" ? await talkOverTcp(host, ports.tcp) : talkOverUdp(host, ports.udp);
        console.log(`server replied: ${await conversation.say(line)}`);
        if (line.toLowerCase() === "exit") {
          console.log("conversation over; the server goes on");
          return;
        }
      }
      if (protocol) prompt(`message (${protocol.toUpperCase()}): `);
    }
  } finally {
    conversation?.close();
  }
}

const cli = command(
  "04-server/21-dual-client.ts",
  "Talks to lesson 20's server, a line a message, until `exit`; with no address, starts it.",
  {
    protocol: flag.text(undefined, "tcp or udp (default: ask)", "tcp|udp", (text, name) => {
      if (text === "tcp" || text === "udp") return text;
      throw new UsageError(`--${name} must be tcp or udp (got "${text}")`);
    }),
    host: flag.host(undefined, "the server's name or address (default 127.0.0.1)"),
    port: flag.port(undefined, "its TCP port (default 65432)", { min: 1 }),
    "udp-port": flag.port(undefined, "its UDP port (default 65433)", { min: 1 }),
  },
);

if (import.meta.main) {
  const { protocol, host, port, "udp-port": udpPort } = cli.parse();
  // Any address given: talk there. None: start lesson 20's server for this run.
  const given = host !== undefined || port !== undefined || udpPort !== undefined;
  const serverFile = `${import.meta.dir}/20-dual-server.ts`;
  const peer = await peerOrStart(given ? { host, port: port ?? 65432 } : {}, {
    serverFile,
    defaultPort: 65432,
  });
  const ports = { tcp: peer.port, udp: peer.local?.udpPort ?? udpPort ?? 65433 };
  const hint = protocol ? "type a message and Enter" : "answer tcp or udp, then type messages";
  console.log(`${hint}; \`exit\` ends`);
  await converse(peer.host, ports, protocol as "tcp" | "udp" | undefined).catch((error: Error) =>
    fail(error.message),
  );
  await peer.local?.stop();
}
