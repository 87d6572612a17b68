/**
 * @title Terminal chat client
 * @summary Chat from a terminal: incoming lines never garble the one you type, files come and go with their SHA-256 checked, and a lost server is found again with exponential backoff and jitter.
 * @run bun run 06-chat/11-chat-client.ts [--host HOST] [--port PORT] [--nick NICK] [--files DIR]
 * @python ClienteTCP.py
 *
 * The Taller's ClienteTCP.py is a Tkinter window with a thread that receives. Here one event
 * loop reads both the server and your keys, and prompt.ts keeps your half-typed line whole
 * while messages print above it. When the server goes away the client waits 0.5 s, 1 s,
 * 2 s... up to 30 s, each wait cut short at random (jitter: a hundred clients of a restarted
 * server must not all knock at the same instant), logs in again, and the server delivers what
 * it kept meanwhile. The password comes from $CHAT_PASSWORD or is asked for, never shown.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { command, endpoint, fail, flag, startServer, whyConnectFailed } from "../lib/cli.ts";
import { ChatConnection, LoginRefused } from "./connection.ts";
import { Transfers } from "./files.ts";
import { Prompt } from "./prompt.ts";
import { clean, type ServerEvent, TCP_PORT } from "./protocol.ts";

/** Wait number `n` (from 0): doubled each time up to `max`, then cut to between half and all. */
export const backoffMs = (n: number, first: number, max: number, random = Math.random()) =>
  Math.min(max, first * 2 ** n) * (0.5 + random / 2);

export interface ClientOptions {
  host: string;
  port: number;
  nick: string;
  password: string;
  /** The folder received files are saved in. */
  files: string;
  /** Prints one line for the person. */
  show: (line: string) => void;
  /** The first wait before reconnecting, and the longest. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

export class ChatClient {
  connection: ChatConnection | undefined;
  /** Resolves when the client is done: after /quit, or refused for good. */
  readonly done: Promise<void>;
  private finish: () => void = () => {};
  private quitting = false;
  private readonly waiting: string[] = [];
  private readonly transfers: Transfers;

  constructor(private readonly options: ClientOptions) {
    this.transfers = new Transfers(options.files, options.show);
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  /** Connects and logs in; rejects (a LoginRefused, or the connect's error) if it cannot. */
  async connect(): Promise<void> {
    const { host, port, nick, password } = this.options;
    this.connection = await ChatConnection.open(host, port, nick, password, {
      onEvent: (event, connection) => this.hear(event, connection),
      onDrain: (connection) => this.transfers.pump(connection),
      onClose: () => void this.lost(),
    });
    for (const line of this.waiting.splice(0)) this.type(line);
  }

  /** A line the person typed: `/send NICK PATH` is the client's own; the rest goes as typed. */
  type(line: string): void {
    const connection = this.connection;
    const send = line.match(/^\/send (\S+) (.+)$/);
    if (/^\/quit( |$)/.test(line)) this.quitting = true;
    if (!connection || connection.closed) {
      // Kept for the (re)connection, and said so unless it is the first one, still under way.
      if (this.waiting.length < 100) this.waiting.push(line);
      if (connection)
        this.options.show("* not connected: the line goes out once the client is back");
    } else if (send) void this.transfers.offer(connection, send[1] ?? "", (send[2] ?? "").trim());
    else connection.send(`${line}\n`);
  }

  /** Ctrl-D or the end of the input: `/quit`, and done once the server has closed. */
  quit(): void {
    const reconnecting = this.connection?.closed === true;
    this.type("/quit");
    if (reconnecting) this.finish();
  }

  /** One server line, for the person (cleaned: a server may be hostile too). */
  private hear(event: ServerEvent, connection: ChatConnection): void {
    const show = this.options.show;
    if (event.kind === "msg") show(`${event.from}: ${clean(event.text)}`);
    else if (event.kind === "priv") {
      show(`${event.from} (to you): ${clean(event.text)}`);
      // Id 0 was never stored (lesson 03): nothing to acknowledge.
      if (event.id > 0) connection.ack(event.id);
    } else if (event.kind === "join") show(`* ${event.nick} joined`);
    else if (event.kind === "leave") show(`* ${event.nick} left (${clean(event.reason)})`);
    else if (event.kind === "list") show(`* here: ${event.nicks.join(", ")}`);
    else if (event.kind === "help") show(`  ${clean(event.text)}`);
    else if (event.kind === "bye") show(`* the server closed: ${clean(event.reason)}`);
    else if (event.kind === "unknown") show(`? ${clean(event.line)}`);
    else if (event.kind === "ok" || event.kind === "err") {
      show(
        event.kind === "ok" ? `ok: ${clean(event.text)}` : `! ${event.code}: ${clean(event.text)}`,
      );
      this.transfers.answer(connection, event);
    } else if (event.kind === "file" || event.kind === "data" || event.kind === "end")
      this.transfers.receive(connection, event);
  }

  /** The connection closed: unless we are leaving, try again, waiting longer each time. */
  private async lost(): Promise<void> {
    this.transfers.drop();
    if (this.quitting) {
      this.finish();
      return;
    }
    const { firstRetryMs = 500, maxRetryMs = 30_000, show } = this.options;
    show("* connection lost");
    for (let attempt = 0; !this.quitting; attempt++) {
      const ms = backoffMs(attempt, firstRetryMs, maxRetryMs);
      show(`* trying again in ${(ms / 1000).toFixed(1)} s`);
      await Bun.sleep(ms);
      try {
        await this.connect();
        return;
      } catch (error) {
        // A wrong password stays wrong; a server not back yet, or a nick still held, may not.
        if (error instanceof LoginRefused && error.forGood) {
          show(`! ${error.message}`);
          break;
        }
      }
    }
    this.finish();
  }
}

/** Where received files go unless told: a folder of the system's temporary directory. */
export const FILES_FOLDER = join(tmpdir(), "sockets-lab-chat-files");

const cli = command("06-chat/11-chat-client.ts", "Chat from a terminal with the chat server.", {
  host: flag.host(undefined, "the chat server; with neither --host nor --port, one is started"),
  port: flag.port(undefined, `its port (default ${TCP_PORT})`, { min: 1 }),
  nick: flag.text(undefined, "your nick (asked for if not given)", "NICK"),
  files: flag.text(undefined, `folder for received files (default ${FILES_FOLDER})`, "DIR"),
});

if (import.meta.main) {
  const flags = cli.parse();
  const local = flags.host === undefined && flags.port === undefined;
  const server = local
    ? await startServer(new URL("10-chat-server.ts", import.meta.url).href)
    : undefined;
  const host = server?.host ?? flags.host ?? "127.0.0.1";
  const port = server?.port ?? flags.port ?? TCP_PORT;
  if (server)
    console.log(
      `no --host/--port given: started the chat server (06-chat/10-chat-server.ts) in its own process on ${endpoint(host, port)}`,
    );
  const prompt = new Prompt({ prompt: "> " });
  const nick = flags.nick ?? (await prompt.ask("nick: "));
  const password = process.env.CHAT_PASSWORD ?? (await prompt.ask(`password for ${nick}: `, true));
  if (nick === undefined || password === undefined)
    fail("the input ended before a nick and a password were given");
  const show = (line: string): void => prompt.print(line);
  const files = flags.files ?? FILES_FOLDER;
  const client = new ChatClient({ host, port, nick, password, files, show });
  show(
    `* connecting to ${endpoint(host, port)} as ${nick}: type to talk to everyone; /help, /send NICK PATH, Ctrl-D leaves`,
  );
  prompt.listen(
    (line) => client.type(line),
    () => client.quit(),
  );
  await client.connect().catch(async (error: Error) => {
    prompt.close();
    await server?.stop();
    const refused = error instanceof LoginRefused || !("code" in error);
    fail(refused ? `login refused: ${error.message}` : await whyConnectFailed(error, host, port));
  });
  await client.done;
  prompt.close();
  await server?.stop();
  process.exit(0);
}
