/**
 * @title Nicknames and accounts
 * @summary `/login NICK PASSWORD`: the first login of a nick sets its password (hashed with Bun.password), later logins must match, and a nick is unique whatever its case.
 * @run bun run 06-chat/02-accounts.ts [--host 127.0.0.1] [--port 5050] [--idle 60] [--cheap-hashes]
 * @python new
 * @serves tcp "/help\n" -> /^HELP /m
 * @limits idle --idle · memory 150 MiB
 *
 * A chat that keeps messages for people (lesson 04) must know who is who, or anyone could
 * connect as alice and read hers. The server keeps no password, only its argon2id hash: slow
 * (about 40 ms) and memory-hungry (19 MiB) on purpose, so a stolen table of hashes is costly
 * to guess from, and one hash runs at a time. A wrong password, a nick in use, a nick that
 * breaks the rules: each gets one `ERR` line. From here the connections live in room.ts,
 * with the guards of lessons 06 to 09 on.
 */
import { command, flag, serve } from "../lib/cli.ts";
import type { Login } from "./mailbox.ts";
import { type ChatOptions, GREETING, Room } from "./room.ts";
import { clean, helpFor, nickKey, parseClientLine, serverLine, TCP_PORT } from "./protocol.ts";

const HASH = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;
const CHEAP = { algorithm: "argon2id", memoryCost: 8, timeCost: 1 } as const;

/** Accounts in memory: each nick's first spelling and its password's hash. */
export class Accounts {
  private readonly known = new Map<string, { nick: string; hash: string }>();
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly cheap = false) {}

  /** The first login of a nick sets its password; later ones must match it. */
  async login(nick: string, password: string): Promise<Login> {
    const account = this.known.get(nickKey(nick));
    if (account) {
      const right = await this.oneAtATime(() => Bun.password.verify(password, account.hash));
      return { outcome: right ? "welcome" : "wrong", nick: account.nick };
    }
    const cost = this.cheap ? CHEAP : HASH;
    const hash = await this.oneAtATime(() => Bun.password.hash(password, cost));
    // Someone else's first login of this nick may have finished while we hashed.
    if (this.known.has(nickKey(nick))) return this.login(nick, password);
    this.known.set(nickKey(nick), { nick, hash });
    return { outcome: "created", nick };
  }

  /** Runs hashes one after another: each takes its 19 MiB only while it runs. */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => {});
    return result;
  }
}

/**
 * The chat with accounts: only a logged-in member may speak. `room.login()` turns each
 * outcome into its line: `OK`, `ERR password`, `ERR taken` (and `ERR nick` comes from the
 * parser, for a nick that breaks the rules).
 */
export function startAccounts(host: string, port: number, options: ChatOptions = {}) {
  const { idleMs = 60_000, cheapHashes = false, log = console.log } = options;
  const room: Room = new Room({
    greeting: GREETING,
    guards: { keepaliveMs: idleMs },
    accounts: new Accounts(cheapHashes),
    log,
    hear(member, line) {
      const said = parseClientLine(line);
      if (said.kind === "login") member.waitFor(room.login(member, said.nick, said.password));
      else if (said.kind === "bad") member.send(serverLine.err(said.code, said.why));
      else if (said.kind === "help")
        member.send(serverLine.help(helpFor(["/login", "TEXT", "/quit"])));
      else if (said.kind === "quit") member.close(clean(said.reason));
      else if (member.nick === undefined)
        member.send(serverLine.err("login", "log in first: /login NICK PASSWORD"));
      else if (said.kind === "say")
        room.broadcast(serverLine.msg(member.nick, clean(said.text)), member);
      else if (said.kind !== "pong")
        member.send(serverLine.err("unknown", "lesson 03 adds commands"));
    },
  });
  return { room, tcp: room.listen(host, port), stop: () => room.stop() };
}

const cli = command("06-chat/02-accounts.ts", "The chat, with nicks and passwords.", {
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
  const hint = "try  nc HOST PORT  and type /login alice secret";
  await serve(host, port, () => startAccounts(host, port, options), hint);
}
