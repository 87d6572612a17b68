/**
 * @title The chat server
 * @summary Every piece together: accounts, broadcast, /list, /msg, /quit, /help, private messages and files kept until acknowledged, and the four guards.
 * @run bun run 06-chat/10-chat-server.ts [--host 127.0.0.1] [--port 5050] [--idle 60] [--data DIR] [--max-file 16777216] [--cheap-hashes]
 * @python ServidorTCP.py tcp_sockets_python.py#MessageServer
 * @serves tcp "/help\n" -> /^HELP /m
 * @limits idle --idle · memory 150 MiB
 *
 * The server the terminal client (lesson 11), the benchmark and this chapter's bridges
 * talk to, composed from the chapter's modules: protocol.ts parses each line, room.ts keeps
 * the connections and their guards (lessons 06 to 09), delivers, and takes files, and
 * mailbox.ts stores. What is left here is lesson 03's `switch`, each case a line or two.
 * The README's recipe lets two people chat with it using `nc` alone.
 */
import { command, fail, flag, serve } from "../lib/cli.ts";
import { Accounts, DATA_FOLDER, Mailbox } from "./mailbox.ts";
import { type ChatOptions, GREETING, type Member, Room } from "./room.ts";
import {
  type ClientCommand,
  clean,
  HELP,
  MAX_FILE_BYTES,
  parseClientLine,
  serverLine,
  TCP_PORT,
} from "./protocol.ts";

/** The chat server on host:port, keeping its data in `mailbox`. */
export function startChat(host: string, port: number, mailbox: Mailbox, options: ChatOptions = {}) {
  const { idleMs = 60_000, maxFileBytes = MAX_FILE_BYTES, cheapHashes = false } = options;
  const { log = console.log } = options;
  const room: Room = new Room({
    greeting: GREETING,
    guards: { keepaliveMs: idleMs },
    accounts: new Accounts(mailbox, { cheap: cheapHashes }),
    mailbox,
    log,
    hear(member, line) {
      const said = parseClientLine(line);
      if (!room.answerBasics(member, said, HELP)) obey(member, said);
    },
  });

  /** A command of a logged-in member (lesson 03's switch). */
  function obey(member: Member, said: ClientCommand): void {
    const nick = member.nick ?? "";
    switch (said.kind) {
      case "say":
        room.broadcast(serverLine.msg(nick, clean(said.text)), member);
        break;
      case "list":
        member.send(serverLine.list(room.online()));
        break;
      case "msg": {
        // Lesson 04: on disk first, then delivered if the recipient is here.
        const account = mailbox.account(said.to);
        if (!account) member.send(serverLine.err("nobody", `nobody is called ${said.to}`));
        else {
          mailbox.storeMessage(account.nick, nick, clean(said.text));
          member.send(serverLine.ok(room.deliverTo(account.nick)));
        }
        break;
      }
      case "ack":
        room.acknowledge(member, said.ids);
        break;
      case "file":
        room.acceptFile(member, said, maxFileBytes);
        break;
      case "data":
        room.acceptData(member, said.bytes);
        break;
    }
  }

  return { room, tcp: room.listen(host, port), stop: () => room.stop() };
}

const cli = command(
  "06-chat/10-chat-server.ts",
  "The chat server, with every feature and guard of the chapter.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
    idle: flag.decimal(60, "seconds of silence before a PING, and again before the close", {
      min: 0.1,
    }),
    data: flag.text(undefined, `folder of the SQLite file (default ${DATA_FOLDER})`, "DIR"),
    "max-file": flag.whole(MAX_FILE_BYTES, "the largest file, in bytes", { min: 0, max: 1 << 30 }),
    "cheap-hashes": flag.bool("hash passwords with almost no cost: for tests and benchmarks only"),
  },
);

if (import.meta.main) {
  const {
    host,
    port,
    idle,
    data,
    "max-file": maxFileBytes,
    "cheap-hashes": cheapHashes,
  } = cli.parse();
  const mailbox = await Promise.try(() => Mailbox.inFolder(data ?? DATA_FOLDER)).catch(
    (error: Error) => fail(error.message),
  );
  const options = { idleMs: idle * 1000, maxFileBytes, cheapHashes };
  const hint =
    "try  nc HOST PORT  and /login alice secret, or bun run 06-chat/11-chat-client.ts --port PORT";
  await serve(host, port, () => startChat(host, port, mailbox, options), hint);
}
