/**
 * The book's toolbox for the edges of a program: its command line, its first and last
 * lines, and the one sentence it prints when something goes wrong. Every lesson uses it, so
 * each lesson can show only its own idea.
 *
 * - `command()` turns one table of flags into both the parsing and the `--help` text: every
 *   flag explained, its default shown, the usage line the same as the lesson's `@run`.
 * - `serve()` starts a server: the `listening on HOST:PORT (tcp)` line that tests wait for, a
 *   hint of how to talk to it, one sentence when the port is taken, and a clean stop on
 *   Ctrl-C (SIGINT) or SIGTERM. Taught in 04-server/01-bind.
 * - `connect()` is `Bun.connect` with a time limit; `whyConnectFailed()` and
 *   `whyLookupFailed()` give the sentence for a refused, unroutable, silent or unknown peer.
 *   Taught in 03-http-client/02-connect.
 * - `startServer()` runs a server lesson in its own process, so a client works offline.
 */
import type { Socket, SocketHandler } from "bun";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { basename, dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";

/** `127.0.0.1:5000`, or `[::1]:5000`: brackets keep an IPv6 address apart from its port. */
export function endpoint(host: string | undefined, port: number | undefined): string {
  const shown = host ?? "?";
  return shown.includes(":") ? `[${shown}]:${port ?? "?"}` : `${shown}:${port ?? "?"}`;
}

/**
 * Where a peer is. Bun asks the kernel on each read of `remoteAddress`: for a client that
 * reset at once it may already be gone (then `?`), and after `end()` it can be gone too. So
 * read it once, first thing in `open`, and keep it.
 */
export function peerOf(socket: Socket<unknown>): string {
  return endpoint(socket.remoteAddress, socket.remotePort);
}

// ---------------------------------------------------------------------------------------
// The command line

/** One flag: how it reads in the usage, what it means, its default, and how to check it. */
export interface Flag<Value> {
  help: string;
  /** The value's name in the flag list: `N`, `IP`, `FILE`. */
  placeholder: string;
  /** Shown in the usage line instead of the placeholder, e.g. `127.0.0.1` or `tcp|udp`. */
  shown?: string;
  fallback: Value;
  boolean?: boolean;
  multiple?: boolean;
  parse(text: string, name: string): Value;
}

type Values<Table> = {
  [Name in keyof Table]: Table[Name] extends Flag<infer Value> ? Value : never;
};

/** A flag's value type: with no default, it may be undefined. */
type Maybe<Value, Fallback> = Fallback extends undefined ? Value | undefined : Value;

/** A value the user must be told about: one sentence, then the usage, exit 2. */
export class UsageError extends Error {}

/** Flags that take a value (`--port 80`), and their defaults. `undefined`: none given. */
export const flag = {
  /** A whole number from `min` to `max`. */
  whole<D extends number | undefined>(
    fallback: D,
    help: string,
    { min = 0, max = Number.MAX_SAFE_INTEGER, placeholder = "N" } = {},
  ): Flag<Maybe<number, D>> {
    return valued(fallback, help, placeholder, (text, name) => {
      if (/^-?\d+$/.test(text) && Number(text) >= min && Number(text) <= max) return Number(text);
      throw new UsageError(`--${name} must be a whole number ${range(min, max)} (got "${text}")`);
    });
  },

  /** A number that may have a fraction (seconds, ratios), from `min` to `max`. */
  decimal<D extends number | undefined>(
    fallback: D,
    help: string,
    { min = 0, max = Number.MAX_SAFE_INTEGER, placeholder = "N" } = {},
  ): Flag<Maybe<number, D>> {
    return valued(fallback, help, placeholder, (text, name) => {
      const value = Number(text);
      if (/^-?(\d+\.?\d*|\.\d+)$/.test(text) && value >= min && value <= max) return value;
      throw new UsageError(`--${name} must be a number ${range(min, max)} (got "${text}")`);
    });
  },

  /** A port: a server may take 0 (any free port), a client needs 1 to 65535. */
  port<D extends number | undefined>(
    fallback: D,
    help: string,
    { min = 0 } = {},
  ): Flag<Maybe<number, D>> {
    return flag.whole(fallback, help, { min, max: 65_535, placeholder: "PORT" });
  },

  /** The address a server listens on: an IP address, so no resolver is asked. */
  listen(fallback: string, help = "address to listen on: 127.0.0.1, ::1, 0.0.0.0 or ::") {
    return valued(fallback, help, "IP", (text, name) => {
      if (isIP(text) !== 0) return text;
      throw new UsageError(
        `--${name} must be an IP address of this machine, like 127.0.0.1 or ::1 (got "${text}")`,
      );
    });
  },

  /** A host to reach: a name or an IP address. */
  host<D extends string | undefined>(fallback: D, help: string): Flag<Maybe<string, D>> {
    return valued(fallback, help, "HOST", (text, name) => {
      if (isHostName(text)) return text.replace(/^\[(.*)\]$/, "$1");
      throw new UsageError(`--${name} must be a host name or an IP address (got "${text}")`);
    });
  },

  /** One of a few words. */
  choice<const Choice extends string>(choices: readonly Choice[], fallback: Choice, help: string) {
    const list = choices.join("|");
    const spec = valued(fallback, help, list, (text, name) => {
      if ((choices as readonly string[]).includes(text)) return text as Choice;
      throw new UsageError(`--${name} must be ${orList(choices)} (got "${text}")`);
    });
    return { ...spec, shown: list };
  },

  /** Any text; `check` may refuse it with a UsageError. */
  text<D extends string | undefined>(
    fallback: D,
    help: string,
    placeholder = "TEXT",
    check: (text: string, name: string) => string = (text) => text,
  ): Flag<Maybe<string, D>> {
    return valued(fallback, help, placeholder, check);
  },

  /** A flag with no value, false unless given: `--json`. */
  bool(help: string): Flag<boolean> {
    return { help, placeholder: "", fallback: false, boolean: true, parse: () => true };
  },

  /** A flag that may be given many times: `--check a:1 --check b:2`. */
  list<Value>(
    help: string,
    placeholder: string,
    parse: (text: string, name: string) => Value,
  ): Flag<Value[]> {
    return {
      help,
      placeholder,
      fallback: [],
      multiple: true,
      parse: (text, name) => [parse(text, name)],
    };
  },
};

/** The words after the flags (`bun run x.ts NAME...`): how they read, and how many. */
export interface Words {
  /** As the usage writes them: `NAME...`, `[ADDRESS]`. */
  shown: string;
  help: string;
  min?: number;
  max?: number;
}

export interface Command<Table> {
  /** The usage line: `usage: ` and the lesson's `@run`. */
  usage: string;
  /** Everything `--help` prints. */
  help: string;
  /** Reads process.argv (or `argv`); prints and exits on `--help` and on mistakes. */
  parse(argv?: string[]): Values<Table> & { words: string[] };
}

/**
 * A lesson's command line from one table. `file` is the lesson's path from the project root,
 * `about` a sentence or two of what it does. The usage line lists the words, then every flag
 * with its default: `bun run 04-server/16-echo-tcp-server.ts [--host 127.0.0.1] [--port 7007]`.
 */
export function command<const Table extends Record<string, Flag<unknown>>>(
  file: string,
  about: string,
  table: Table,
  words?: Words,
): Command<Table> {
  const parts = [`bun run ${file}`];
  if (words) parts.push(words.shown);
  for (const [name, spec] of Object.entries(table)) {
    const value =
      spec.shown ?? (spec.fallback === undefined ? spec.placeholder : String(spec.fallback));
    if (spec.boolean) parts.push(`[--${name}]`);
    else if (spec.multiple) parts.push(`[--${name} ${spec.placeholder}]...`);
    else parts.push(`[--${name} ${value}]`);
  }
  const usage = `usage: ${parts.join(" ")}`;
  const rows: [string, string][] = [];
  if (words) rows.push([words.shown.replace(/[[\]]/g, ""), words.help]);
  for (const [name, spec] of Object.entries(table)) {
    const left = spec.boolean ? `--${name}` : `--${name} ${spec.placeholder}`;
    const shown = Array.isArray(spec.fallback) || spec.boolean ? undefined : spec.fallback;
    rows.push([left, shown === undefined ? spec.help : `${spec.help} (default ${shown})`]);
  }
  rows.push(["-h, --help", "print this text and exit"]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
  const next = nextLesson(file);
  const help = [usage, "", about, "", ...lines, ...(next ? ["", `next: ${next}`] : [])].join("\n");

  function parse(argv: string[] = process.argv.slice(2)): Values<Table> & { words: string[] } {
    try {
      const { values, positionals: given } = parseArgs({
        args: joinNegativeValues(argv, table, words !== undefined),
        allowPositionals: words !== undefined,
        options: {
          ...Object.fromEntries(
            Object.entries(table).map(([name, spec]) => [
              name,
              { type: spec.boolean ? "boolean" : "string", multiple: spec.multiple === true },
            ]),
          ),
          help: { type: "boolean", short: "h" },
        } as const,
      });
      const positionals = given.map((word) => word.replace(NEGATIVE_WORD, ""));
      if (values.help) {
        console.log(help);
        process.exit(0);
      }
      const result: Record<string, unknown> = { words: positionals };
      for (const [name, spec] of Object.entries(table)) {
        const given = (values as Record<string, unknown>)[name];
        if (given === undefined) result[name] = spec.fallback;
        else if (Array.isArray(given))
          result[name] = given.flatMap((text) => spec.parse(String(text), name));
        else result[name] = spec.boolean ? true : spec.parse(String(given), name);
      }
      const { min = 0, max = Number.POSITIVE_INFINITY } = words ?? {};
      if (positionals.length < min) throw new UsageError(`give ${words?.shown}`);
      if (positionals.length > max)
        throw new UsageError(`give at most ${max} ${words?.shown}, not ${positionals.length}`);
      return result as Values<Table> & { words: string[] };
    } catch (error) {
      usageError(explainParseError(error), usage);
    }
  }
  return { usage, help, parse };
}

/** Prints `sentence`, a blank line and the usage on stderr, and exits 2. */
export function usageError(sentence: string, usage: string): never {
  console.error(`${sentence}\n\n${usage}\n(--help says what each flag means)`);
  process.exit(2);
}

/** "from 1 to 10", or "of at least 1" when there is no real upper bound. */
const range = (min: number, max: number): string =>
  max >= Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;

function valued<Value, Fallback extends Value | undefined>(
  fallback: Fallback,
  help: string,
  placeholder: string,
  parse: (text: string, name: string) => Value,
): Flag<Maybe<Value, Fallback>> {
  return { help, placeholder, fallback, parse } as Flag<Maybe<Value, Fallback>>;
}

/**
 * An IP address (IPv6 may come in brackets), or a name as DNS allows it: labels of letters,
 * digits and hyphens, 63 characters at most, not starting or ending with a hyphen, 253 in all.
 */
export function isHostName(text: string): boolean {
  if (isIP(text.replace(/^\[(.*)\]$/, "$1")) !== 0) return true;
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
  return name.length > 0 && name.length <= 253 && name.split(".").every((part) => label.test(part));
}

const orList = (words: readonly string[]): string =>
  words.length < 2 ? (words[0] ?? "") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;

/** Marks a word that starts with "-" and a digit, so that parseArgs takes it for a word. */
const NEGATIVE_WORD = "\u0000";

/**
 * `--count -1`: parseArgs would take `-1` for a flag and call the line ambiguous. Joined as
 * `--count=-1`, the value reaches the flag's own check, which says what is wrong with it.
 * Where the program takes words, `-5` on its own is a word (`-5 + 3`, a calculation).
 */
function joinNegativeValues(
  argv: string[],
  table: Record<string, Flag<unknown>>,
  takesWords: boolean,
): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const next = argv[i + 1];
    const spec = table[arg.replace(/^--/, "")];
    const takesValue = arg.startsWith("--") && spec !== undefined && !spec.boolean;
    if (takesValue && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else if (takesWords && /^-[\d.]/.test(arg)) joined.push(`${NEGATIVE_WORD}${arg}`);
    else joined.push(arg);
  }
  return joined;
}

/** parseArgs' own messages, in the book's words. */
function explainParseError(error: unknown): string {
  if (error instanceof UsageError) return error.message;
  const { code, message } = error as { code?: string; message: string };
  const option = message.match(/'(-[^' ]+)/)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown flag ${option}: see the list below`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("argument missing")) return `${option} needs a value`;
    return `${option} takes no value`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
    return `unexpected word ${message.match(/'([^']*)'/)?.[1] ?? ""}: this program takes flags only`;
  return message;
}

/**
 * The lesson after `file`, for the end of `--help`: the next file of its chapter, or the
 * first of the next chapter. Read from the folders, so it is never out of date.
 */
function nextLesson(file: string): string | undefined {
  const root = join(import.meta.dir, "..");
  const lesson = /^\d\d-[a-z0-9-]+\.ts$/;
  const chapters = readdirSync(root)
    .filter((name) => /^\d\d-[a-z0-9-]+$/.test(name))
    .sort();
  const all = chapters.flatMap((chapter) =>
    readdirSync(join(root, chapter))
      .filter((name) => lesson.test(name))
      .sort()
      .map((name) => `${chapter}/${name}`),
  );
  const next = all[all.indexOf(file) + 1];
  if (all.indexOf(file) === -1 || next === undefined) return undefined;
  const title = readFileSync(join(root, next), "utf8")
    .match(/@title\s+(.+)/)?.[1]
    ?.trim();
  return title ? `bun run ${next}  (${title})` : `bun run ${next}`;
}

// ---------------------------------------------------------------------------------------
// Servers

/** The last line `serve()` prints, after the `listening on` lines. */
export const STOP_HINT = "Ctrl-C stops the server";

/** What a server lesson's start function returns: its sockets, and how to stop them. */
export interface Server {
  /** The TCP listener, or several (a server with a port per service), in the order shown. */
  tcp?: { port: number } | { port: number }[];
  udp?: { port: number };
  /** Close the listeners and every connection; may wait for workers to end. */
  stop(): void | Promise<void>;
}

/**
 * Starts a server and tells the world: `listening on HOST:PORT (tcp)` for each socket (the
 * line tests wait for), then `hint` (how to talk to it: HOST and PORT in it are replaced by
 * the real ones, e.g. "try  nc HOST PORT") and how to stop it. A failed bind
 * is one sentence and exit 1. Ctrl-C (SIGINT) and SIGTERM stop it within a second and exit 0;
 * the handlers are set before the `listening on` line, because whoever reads that line may
 * send a signal at once.
 */
export async function serve<S extends Server>(
  host: string,
  port: number,
  start: () => S | Promise<S>,
  hint = "",
): Promise<S> {
  let server: S;
  try {
    server = await start();
  } catch (error) {
    fail(whyListenFailed(error, host, port));
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, async () => {
      const stopped = Promise.resolve(server.stop());
      await Promise.race([stopped, Bun.sleep(900)]);
      console.log(`stopped by ${signal}: the port is free again`);
      process.exit(0);
    });
  }
  const listeners = [server.tcp ?? []].flat();
  for (const listener of listeners)
    console.log(`listening on ${endpoint(host, listener.port)} (tcp)`);
  if (server.udp) console.log(`listening on ${endpoint(host, server.udp.port)} (udp)`);
  const first = listeners[0]?.port ?? server.udp?.port ?? port;
  const shown = hint.replaceAll("HOST", host).replaceAll("PORT", String(first));
  console.log(shown ? `${shown}; ${STOP_HINT}` : STOP_HINT);
  return server;
}

/**
 * An error whose message is already the sentence to print: the `why...` functions below
 * pass it through unchanged (a protocol module's "the reply was not NTP", say).
 */
export class Explained extends Error {}

/** One sentence for a bind that failed: what happened and what to do. */
export function whyListenFailed(error: unknown, host: string, fallbackPort: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  // Bun.listen's error names the port that failed; a server with several ports needs it.
  const port = (error as { port?: number }).port || fallbackPort;
  if (code === "EADDRINUSE")
    return `port ${port} on ${host} is already in use: stop the program that holds it, or choose another --port (0 takes any free one)`;
  if (code === "EADDRNOTAVAIL" || code === "ENOENT")
    return `${host} is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses`;
  if (code === "EACCES")
    return `port ${port} is below 1024 and needs administrator rights: choose a port above 1023`;
  return `could not listen on ${endpoint(host, port)} (${code ?? (error as Error).message}): check --host and --port`;
}

/** Prints one sentence on stderr and exits 1: the end of a failure we expected. */
export function fail(sentence: string): never {
  console.error(sentence);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// Clients

/** How long a client waits for a connection to open before it gives up. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * `Bun.connect` with a time limit. A host that is down, or a firewall that drops packets,
 * never refuses: the kernel resends its SYN for about two minutes. Bun cannot call a pending
 * connect off, so a socket that opens after we gave up is closed at once.
 */
export async function connect<Data = undefined>(
  host: string,
  port: number,
  socket: SocketHandler<Data>,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<Socket<Data>> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(timeoutMs)), timeoutMs);
  });
  const connecting = Bun.connect({ hostname: host, port, socket });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then(
      (opened) => opened.terminate(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** An error with code ETIMEDOUT, for a wait we gave up. */
export function timeoutError(ms: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`no answer within ${ms / 1000} s`), { code: "ETIMEDOUT" });
}

/**
 * One sentence for a connection (or a datagram) that failed, with what to do. Bun reports
 * "no route" and "out of file descriptors" as ECONNREFUSED too, so a refusal is checked: a
 * UDP socket "connected" to the host asks the kernel for a route without sending anything.
 */
export async function whyConnectFailed(
  error: unknown,
  host: string,
  port: number,
  protocol: "tcp" | "udp" = "tcp",
): Promise<string> {
  if (error instanceof Explained) return error.message;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const where = `${endpoint(host, port)} (${protocol})`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL")
    return whyLookupFailed(error, host);
  if (code === "ECONNREFUSED") {
    const really = await routeProblem(host, port);
    if (really) return whyConnectFailed(really, host, port, protocol);
    if (protocol === "udp")
      return `${where}: port unreachable, nothing listens on that UDP port; start the server, or check --host and --port`;
    return `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;
  }
  if (code === "ETIMEDOUT")
    return `${where} did not answer (${(error as Error).message}): the host may be down, or a firewall drops the packets`;
  if (code === "ENETUNREACH")
    return `no route to ${host}: this machine has no network path there (check the address, or your network)`;
  if (code === "EHOSTUNREACH")
    return `no route to ${host}: the host does not answer on its network (is it up? is the address right?)`;
  if (code === "EMFILE" || code === "ENFILE")
    return "could not open a socket: this program has no file descriptors left (raise ulimit -n, or open fewer connections at once)";
  if (code === "ECONNRESET") return `${where} reset the connection`;
  if (code === "EMSGSIZE") return `${where}: a datagram carries at most 65507 bytes; send less`;
  return `${where} failed: ${(error as Error).message}`;
}

/** One sentence for a name that could not be turned into an address. */
export function whyLookupFailed(error: unknown, name: string): string {
  if (error instanceof Explained) return error.message;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (code === "ENOTFOUND" || code === "ENODATA" || code === "NXDOMAIN")
    return `cannot find the host "${name}": no such name (check the spelling, or give an IP address)`;
  if (["EAI_AGAIN", "ETIMEOUT", "ECONNREFUSED", "ESERVFAIL", "EAI_FAIL"].includes(code))
    return `could not look up "${name}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`;
  return `could not look up "${name}" (${code || (error as Error).message})`;
}

/**
 * Why a "refused" connect really failed, when it was not a refusal: no route (ENETUNREACH,
 * EHOSTUNREACH), or no file descriptors left (EMFILE); undefined when it was a refusal.
 */
export async function routeProblem(
  host: string,
  port: number,
): Promise<NodeJS.ErrnoException | undefined> {
  if (isIP(host) === 0) return undefined;
  try {
    const hostname = isIP(host) === 6 ? "::" : "0.0.0.0";
    const probe = await Bun.udpSocket({ hostname, connect: { hostname: host, port } });
    probe.close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENETUNREACH" || code === "EHOSTUNREACH" || code === "EMFILE" || code === "ENFILE")
      return error as NodeJS.ErrnoException;
    return undefined;
  }
}

/** A server lesson running in its own process for a client that was given no peer. */
export interface LocalServer {
  host: string;
  /** The first port it listens on (TCP, else UDP). */
  port: number;
  /** Every TCP port, in the order it printed them. */
  tcpPorts: number[];
  udpPort?: number;
  stop(): Promise<void>;
}

/**
 * Runs a server lesson (`bun run FILE --port 0 ARGS`) in its own process and resolves once it
 * prints its `listening on` lines, with the ports it got. Its output is read and dropped (a
 * full pipe would block it); `stop()` sends SIGTERM and waits for the exit. The child is
 * killed if this process exits first.
 */
export async function startServer(file: string, args: string[] = []): Promise<LocalServer> {
  const path = file.startsWith("file:") ? Bun.fileURLToPath(file) : file;
  const child = Bun.spawn(["bun", "run", path, "--port", "0", ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  process.once("exit", () => child.kill("SIGKILL"));
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(STOP_HINT)) {
    const { value, done } = await reader.read();
    if (done) {
      const why = (await new Response(child.stderr).text()).trim();
      throw new Error(`${shortName(path)} exited before listening: ${why || seen.trim()}`);
    }
    seen += value;
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  void new Response(child.stderr).text();
  const tcp = [...seen.matchAll(/listening on \[?([^\s\]]+?)\]?:(\d+) \(tcp\)/g)];
  const udp = seen.match(/listening on \[?([^\s\]]+?)\]?:(\d+) \(udp\)/);
  const first = tcp[0] ?? udp;
  return {
    host: first?.[1] ?? "127.0.0.1",
    port: Number(first?.[2] ?? 0),
    tcpPorts: tcp.map((match) => Number(match[2])),
    udpPort: udp ? Number(udp[2]) : undefined,
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** Where a client talks: the peer it was given, or a server it started for this run. */
export interface Peer {
  host: string;
  port: number;
  /** Set when the client started the server itself: stop it before exiting. */
  local?: LocalServer;
}

/**
 * The peer of a client: `--host`/`--port` as given (a missing one takes `defaultHost` or
 * `defaultPort`), or, when neither was given, the chapter's server lesson `serverFile`
 * started in its own process on a free port, with a line on stderr saying so: every client
 * of the book works offline, with no arguments.
 */
export async function peerOrStart(
  given: { host?: string; port?: number },
  {
    serverFile,
    defaultHost = "127.0.0.1",
    defaultPort,
    args = [],
  }: {
    serverFile: string;
    defaultHost?: string;
    defaultPort: number;
    args?: string[];
  },
): Promise<Peer> {
  if (given.host !== undefined || given.port !== undefined)
    return { host: given.host ?? defaultHost, port: given.port ?? defaultPort };
  const local = await startServer(serverFile, args);
  const path = serverFile.startsWith("file:") ? Bun.fileURLToPath(serverFile) : serverFile;
  const where = endpoint(local.host, local.port);
  console.error(`no --host or --port: started ${shortName(path)} on ${where} for this run`);
  return { host: local.host, port: local.port, local };
}

/** `04-server/16-echo-tcp-server.ts` from an absolute path, for messages. */
function shortName(path: string): string {
  const root = join(import.meta.dir, "..");
  return existsSync(path) ? relative(root, path) : basename(dirname(path));
}
