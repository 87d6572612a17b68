/**
 * @title TCP and UDP client
 * @summary Choose tcp or udp, then send each line you type to lesson 12's server and print its reply, until `exit`.
 * @run bun run 04-server/13-dual-client.ts [--protocol tcp|udp] [--host 127.0.0.1] [--port 65432] [--udp-port 65433]
 * @python informe#client
 *
 * The Informe's client took whatever one recv(1024) returned as the reply: a reply split in
 * two, or two replies in one read, would garble the conversation. Over TCP this client reads
 * up to the newline that ends each reply; over UDP a reply is one datagram, and a message
 * that gets none is sent again. `exit` (or Ctrl-D) ends this conversation, not the server.
 */
import { Outbox } from "./02-accept.ts";
import { LineBuffer } from "./03-echo-once.ts";
import { openUdpClient } from "./09-daytime-client.ts";
import {
  explainClientError,
  formatEndpoint,
  parseCli,
  parsePeerHost,
  parsePort,
  type Protocol,
} from "./cli.ts";
import { startDualServer, TCP_PORT, UDP_PORT } from "./12-dual-server.ts";

const REPLY_TIMEOUT_MS = 10_000; // a reply that has not come by then is an error, not a wait

/** One conversation: `ask()` sends a message and resolves with the server's reply. */
export type Conversation = { ask(message: string): Promise<string>; close(): void };

/** TCP: messages and replies are lines on one connection. */
export async function talkOverTcp(host: string, port: number): Promise<Conversation> {
  const [where, lines, replies] = [formatEndpoint(host, port), new LineBuffer(), [] as string[]];
  let [closed, wake] = [false, (): void => {}];
  const socket = await Bun.connect<Outbox>({
    hostname: host,
    port,
    socket: {
      // write() may take part of a line: the Outbox keeps the rest for `drain`.
      open: (socket) => void (socket.data = new Outbox(socket)),
      data(socket, chunk) {
        try {
          for (const line of lines.push(chunk)) replies.push(line.toString("utf8"));
        } catch {
          socket.terminate(); // a "reply" longer than 64 KiB: not this protocol
        }
        wake();
      },
      drain: (socket) => socket.data.flush(),
      close: () => ((closed = true), wake()),
      error() {},
    },
  }).catch((error: unknown) =>
    Promise.reject(new Error(explainClientError(error, host, port, "tcp"))),
  );
  return {
    async ask(message) {
      socket.data.send(`${message}\n`);
      while (replies.length === 0) {
        if (closed) throw new Error(`${where} closed the connection without a reply.`);
        await new Promise<void>((resolve, reject) => {
          const late = new Error(`${where} did not reply within ${REPLY_TIMEOUT_MS} ms.`);
          const timer = setTimeout(reject, REPLY_TIMEOUT_MS, late);
          wake = () => (clearTimeout(timer), resolve());
        });
      }
      return replies.shift() ?? "";
    },
    close: () => socket.end(),
  };
}

/** UDP: a message is a datagram, and so is its reply; silence means send it again. */
export async function talkOverUdp(host: string, port: number): Promise<Conversation> {
  const udp = await openUdpClient(host, port);
  return { ask: async (message) => String((await udp.request(message)).reply), close: udp.close };
}

/** Reads typed lines: the first answers "tcp or udp?" unless --protocol did. */
async function converse(host: string, ports: Record<Protocol, number>, given?: Protocol) {
  const prompt = (text: string): void => void (process.stdin.isTTY && process.stdout.write(text));
  let [protocol, conversation] = [given, undefined as Conversation | undefined];
  if (!protocol) prompt("TCP or UDP? (tcp/udp): ");
  try {
    for await (const typed of console) {
      const line = typed.trim();
      if (!protocol) {
        if (line === "tcp" || line === "udp") protocol = line;
        else console.log(`please answer tcp or udp (got "${line}")`);
      } else if (line !== "") {
        const talk = protocol === "tcp" ? talkOverTcp : talkOverUdp; // connects on the first line
        conversation ??= await talk(host, ports[protocol]);
        console.log(`server replied: ${await conversation.ask(line)}`);
        if (line.toLowerCase() === "exit")
          return console.log("conversation over; the server goes on");
      }
      if (protocol) prompt(`message (${protocol.toUpperCase()}): `);
    }
  } finally {
    conversation?.close();
  }
}

const usage = `usage: bun run 04-server/13-dual-client.ts [--protocol tcp|udp] [--host 127.0.0.1] [--port ${TCP_PORT}] [--udp-port ${UDP_PORT}]

Talks to lesson 12's server: each line you type is a message, "exit" or Ctrl-D ends.
Without --protocol it asks first. With none of --host, --port, --udp-port it starts
lesson 12's server in this process, on free ports.
  --protocol     tcp or udp
  --host HOST    the server (default 127.0.0.1)
  --port N       its TCP port (default ${TCP_PORT})
  --udp-port N   its UDP port (default ${UDP_PORT})`;

if (import.meta.main) {
  const options = parseCli(
    usage,
    {
      protocol: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "udp-port": { type: "string" },
    },
    ({ protocol, host, port, "udp-port": udpPort }) => {
      if (protocol !== undefined && protocol !== "tcp" && protocol !== "udp")
        throw new Error(`--protocol must be tcp or udp (got "${protocol}")`);
      return {
        protocol: protocol as Protocol | undefined,
        host: host === undefined ? undefined : parsePeerHost(host),
        tcp: port === undefined ? undefined : parsePort(port, "--port", 1),
        udp: udpPort === undefined ? undefined : parsePort(udpPort, "--udp-port", 1),
      };
    },
  );
  const local = (options.host ?? options.tcp ?? options.udp) === undefined;
  const server = local ? await startDualServer({ tcpPort: 0, udpPort: 0 }) : undefined;
  const host = options.host ?? "127.0.0.1";
  const ports = {
    tcp: server?.tcp.port ?? options.tcp ?? TCP_PORT,
    udp: server?.udp.port ?? options.udp ?? UDP_PORT,
  };
  if (server) console.log(`no --host or ports given: started lesson 12's server in this process`);
  try {
    await converse(host, ports, options.protocol);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  } finally {
    server?.stop();
  }
}
