/**
 * @title Files
 * @summary `/file NICK NAME SIZE SHA256`, then the bytes as base64 `/data` lines between chat lines: checked against its SHA-256, stored, and delivered like a private message.
 * @run bun run 06-chat/05-files.ts [--host 127.0.0.1] [--port 5050] [--idle 60] [--data DIR] [--max-file 16777216] [--cheap-hashes]
 * @python ServidorTCP.py
 * @serves tcp "/help\n" -> /^HELP /m
 * @limits idle --idle · memory 150 MiB
 *
 * A file could go on a connection of its own (FTP does that), but then it needs a second
 * port, a second login and a way to match the two. Here it travels on the chat's connection,
 * cut into 32 KiB chunks, each a `/data` line of base64: every line stays under the 64 KiB
 * limit, and chat lines pass between chunks, so a file never holds anyone up. The server
 * writes each chunk to the mailbox and hashes it as it comes; a file whose SHA-256 is not
 * the one announced is dropped and its sender told. A good one goes out like a private
 * message: `FILE ID FROM NAME SIZE SHA256`, `DATA ID BASE64` lines, `END ID`, then `/ack ID`.
 */
import { command, fail, flag, serve } from "../lib/cli.ts";
import { Accounts, DATA_FOLDER, Mailbox } from "./mailbox.ts";
import { type ChatOptions, GREETING, Room } from "./room.ts";
import {
  clean,
  helpFor,
  MAX_FILE_BYTES,
  parseClientLine,
  serverLine,
  TCP_PORT,
} from "./protocol.ts";

const HELP = helpFor(["/login", "TEXT", "/list", "/ack", "/file", "/quit"]);

/**
 * The chat that carries files. `room.acceptFile()` checks an announced file (one at a time,
 * its size, its recipient) and says go; `room.acceptData()` writes each chunk to the mailbox
 * and hashes it, then says whether the file is the one announced, and delivers it.
 */
export function startFiles(
  host: string,
  port: number,
  mailbox: Mailbox,
  options: ChatOptions = {},
) {
  const { idleMs = 60_000, cheapHashes = false, log = console.log } = options;
  const maxBytes = options.maxFileBytes ?? MAX_FILE_BYTES;
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
      else if (said.kind === "file") room.acceptFile(member, said, maxBytes);
      else if (said.kind === "data") room.acceptData(member, said.bytes);
      else if (said.kind === "ack") room.acknowledge(member, said.ids);
      else if (said.kind === "list") member.send(serverLine.list(room.online()));
      else member.send(serverLine.err("unknown", "lesson 10 has every command"));
    },
  });
  return { room, tcp: room.listen(host, port), stop: () => room.stop() };
}

const cli = command("06-chat/05-files.ts", "The chat, carrying files between its lines.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "seconds of silence before a PING, and again before the close", {
    min: 0.1,
  }),
  data: flag.text(undefined, `folder of the SQLite file (default ${DATA_FOLDER})`, "DIR"),
  "max-file": flag.whole(MAX_FILE_BYTES, "the largest file, in bytes", { min: 0, max: 1 << 30 }),
  "cheap-hashes": flag.bool("hash passwords with almost no cost: for tests and benchmarks only"),
});

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
  const hint = "try  nc HOST PORT  and type /login alice secret";
  await serve(host, port, () => startFiles(host, port, mailbox, options), hint);
}
