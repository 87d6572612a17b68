/**
 * @title Offline delivery
 * @summary A private message is stored in SQLite before the sender hears OK, delivered in order when its recipient is online, and deleted only when the recipient sends `/ack ID`.
 * @run bun run 06-chat/04-offline.ts [--host 127.0.0.1] [--port 5050] [--idle 60] [--data DIR] [--cheap-hashes]
 * @python ServidorTCP.py
 * @serves tcp "/help\n" -> /^HELP /m
 * @limits idle --idle · memory 150 MiB
 *
 * The Taller's ServidorTCP.py keeps messages for clients that are away, in a dict: a crash
 * loses them all. Here every private message goes the same way, online or not: into the
 * mailbox (SQLite, on disk) first, then to the recipient as `PRIV ID FROM TEXT` whenever it
 * is logged in. It stays stored until the recipient answers `/ack ID`: a client that drops
 * before that gets it again at its next login, and after it never again. Kill the server
 * with `kill -9` at any moment: whatever it said OK to is still on disk. (--data defaults
 * to a folder in the system's temporary directory.)
 */
import { command, fail, flag, serve } from "../lib/cli.ts";
import { Accounts, DATA_FOLDER, Mailbox } from "./mailbox.ts";
import { type ChatOptions, GREETING, type Member, Room } from "./room.ts";
import { clean, helpFor, parseClientLine, serverLine, TCP_PORT } from "./protocol.ts";

/** Store first, then deliver if the recipient is here: one path for online and offline. */
export function sendPrivately(
  room: Room,
  mailbox: Mailbox,
  from: Member,
  to: string,
  text: string,
) {
  const account = mailbox.account(to);
  if (!account) {
    from.send(serverLine.err("nobody", `nobody is called ${to}`));
    return;
  }
  // Committed to disk before anyone hears about it: a crash after this loses nothing.
  mailbox.storeMessage(account.nick, from.nick ?? "", clean(text));
  from.send(serverLine.ok(room.deliverTo(account.nick)));
}

const HELP = helpFor(["/login", "TEXT", "/msg", "/list", "/ack", "/quit"]);

/**
 * The chat with a mailbox. Lesson 07's basics come from `room.answerBasics`; room.ts also
 * delivers (`deliver`: stored items, oldest first, each once a session) and forgets what is
 * acknowledged (`acknowledge`).
 */
export function startOffline(
  host: string,
  port: number,
  mailbox: Mailbox,
  options: ChatOptions = {},
) {
  const { idleMs = 60_000, cheapHashes = false, log = console.log } = options;
  const room: Room = new Room({
    greeting: GREETING,
    guards: { keepaliveMs: idleMs },
    accounts: new Accounts(mailbox, { cheap: cheapHashes }),
    mailbox,
    log,
    hear(member, line) {
      const said = parseClientLine(line);
      if (room.answerBasics(member, said, HELP)) return;
      const nick = member.nick ?? "";
      if (said.kind === "say") room.broadcast(serverLine.msg(nick, clean(said.text)), member);
      else if (said.kind === "msg") sendPrivately(room, mailbox, member, said.to, said.text);
      else if (said.kind === "ack") room.acknowledge(member, said.ids);
      else if (said.kind === "list") member.send(serverLine.list(room.online()));
      else member.send(serverLine.err("unknown", "lesson 05 adds files, lesson 10 has it all"));
    },
  });
  return { room, tcp: room.listen(host, port), stop: () => room.stop() };
}

const cli = command(
  "06-chat/04-offline.ts",
  "The chat, keeping private messages until they are acknowledged.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
    idle: flag.decimal(60, "seconds of silence before a PING, and again before the close", {
      min: 0.1,
    }),
    data: flag.text(undefined, `folder of the SQLite file (default ${DATA_FOLDER})`, "DIR"),
    "cheap-hashes": flag.bool("hash passwords with almost no cost: for tests and benchmarks only"),
  },
);

if (import.meta.main) {
  const { host, port, idle, data, "cheap-hashes": cheapHashes } = cli.parse();
  const mailbox = await Promise.try(() => Mailbox.inFolder(data ?? DATA_FOLDER)).catch(
    (error: Error) => fail(error.message),
  );
  const options = { idleMs: idle * 1000, cheapHashes };
  const hint = "try  nc HOST PORT  and type /login alice secret, then /msg bob hi";
  await serve(host, port, () => startOffline(host, port, mailbox, options), hint);
}
