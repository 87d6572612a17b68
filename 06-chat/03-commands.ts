/**
 * @title Commands
 * @summary `/list`, `/msg NICK text`, `/quit [reason]` and `/help`; an unknown command gets an error line, never a broadcast.
 * @run bun run 06-chat/03-commands.ts [--host 127.0.0.1] [--port 5050] [--idle 60] [--cheap-hashes]
 * @python tcp_sockets_python.py#MessageServer
 * @serves tcp "/help\n" -> /^HELP /m
 * @limits idle --idle · memory 150 MiB
 *
 * The LAB's MessageServer knows `/list` and `/quit`; IRC added `/msg`. A line that starts with
 * "/" is a command, parsed by protocol.ts into one object, so the server is a `switch`: each
 * case answers with one line. A typo such as `/lsit` gets `ERR unknown`, rather than going to
 * everyone. `/msg` reaches only someone online here; lesson 04 keeps it for the others.
 * Accounts now come from mailbox.ts (lesson 02's rules, two hashes at a time at most).
 */
import { command, flag, serve } from "../lib/cli.ts";
import { Accounts, Mailbox } from "./mailbox.ts";
import { type ChatOptions, GREETING, type Member, Room } from "./room.ts";
import {
  type ClientCommand,
  clean,
  helpFor,
  parseClientLine,
  serverLine,
  TCP_PORT,
} from "./protocol.ts";

const KNOWN = ["/login", "TEXT", "/msg", "/list", "/quit"];

/** One command of a logged-in member, answered. */
export function obey(room: Room, mailbox: Mailbox, member: Member, said: ClientCommand): void {
  const nick = member.nick ?? "";
  switch (said.kind) {
    case "say":
      room.broadcast(serverLine.msg(nick, clean(said.text)), member);
      break;
    case "list":
      member.send(serverLine.list(room.online()));
      break;
    case "msg": {
      const to = room.find(said.to);
      if (to) {
        // Id 0: this message is not stored, so there is nothing to acknowledge.
        to.send(serverLine.priv(0, nick, clean(said.text)));
        member.send(serverLine.ok(`sent to ${to.nick}`));
      } else if (mailbox.account(said.to))
        member.send(serverLine.err("offline", `${said.to} is not here`));
      else member.send(serverLine.err("nobody", `nobody is called ${said.to}`));
      break;
    }
    default:
      member.send(serverLine.err("unknown", "lesson 04 adds /ack, lesson 05 /file"));
  }
}

/** The chat with commands; /login, /help and /quit work before logging in. */
export function startCommands(host: string, port: number, options: ChatOptions = {}) {
  const { idleMs = 60_000, cheapHashes = false, log = console.log } = options;
  const mailbox = new Mailbox(":memory:");
  const room: Room = new Room({
    greeting: GREETING,
    guards: { keepaliveMs: idleMs },
    accounts: new Accounts(mailbox, { cheap: cheapHashes }),
    log,
    hear(member, line) {
      const said = parseClientLine(line);
      if (said.kind === "login") member.waitFor(room.login(member, said.nick, said.password));
      else if (said.kind === "bad") member.send(serverLine.err(said.code, said.why));
      else if (said.kind === "help") member.send(serverLine.help(helpFor(KNOWN)));
      else if (said.kind === "quit") member.close(clean(said.reason));
      else if (member.nick === undefined)
        member.send(serverLine.err("login", "log in first: /login NICK PASSWORD"));
      else if (said.kind !== "pong") obey(room, mailbox, member, said);
    },
  });
  return { room, tcp: room.listen(host, port), stop: () => room.stop() };
}

const cli = command("06-chat/03-commands.ts", "The chat, with /list, /msg, /quit and /help.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "seconds of silence before a PING, and again before the close", {
    min: 0.1,
  }),
  "cheap-hashes": flag.bool("hash passwords with almost no cost: for tests and benchmarks only"),
});

if (import.meta.main) {
  const { host, port, idle, "cheap-hashes": cheapHashes } = cli.parse();
  const options = { idleMs: idle * 1000, cheapHashes };
  const hint = "try  nc HOST PORT  and type /login alice secret, then /list";
  await serve(host, port, () => startCommands(host, port, options), hint);
}
