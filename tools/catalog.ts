/**
 * The book's table of contents, read from the lessons themselves.
 *
 * Chapters are the `NN-name/` folders at the project root; lessons are their
 * `NN-name.ts` files; each lesson's JSDoc header gives its title, summary, run
 * command and the Python lab file(s) it mirrors. The menu (`index.ts`), the README
 * tables (`tools/readme.ts`) and the grader all read this, so a lesson is never
 * listed twice by hand.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");

const CHAPTER_DIR = /^\d\d-[a-z0-9-]+$/;
const LESSON_FILE = /^\d\d-[a-z0-9-]+\.ts$/;

export interface Lesson {
  /** Path from the project root, e.g. `01-basics/01-hostname.ts`. */
  file: string;
  chapter: string;
  title: string;
  summary: string;
  run: string;
  /** Python lab files this lesson replaces (`new` for none). */
  python: string[];
  /** The header's prose after the tags. */
  prose: string;
  /** `@serves` lines: this lesson is a server, and one exchange a client can have with it. */
  serves: Probe[];
  /** `@limits`: what the server promises a hostile client (the battery holds it to them). */
  limits: Limits;
}

/**
 * One exchange with a server, from a header line such as
 * `@serves tcp "12 + 30\n" -> "OK 42\n"` or `@serves udp "\u0023" padded to 48 -> 48 bytes`.
 * The request is a JSON string (optionally padded with zero bytes to a length); the reply is
 * what it starts with (a JSON string), a /pattern/, or its length.
 */
export interface Probe {
  protocol: "tcp" | "udp";
  request: Uint8Array;
  reply:
    | { kind: "prefix"; bytes: Uint8Array }
    | { kind: "pattern"; pattern: RegExp }
    | { kind: "length"; bytes: number };
  /** The tag's text, for messages. */
  text: string;
}

/**
 * `@limits idle --idle · memory 64 MiB · clients 1 · one at a time · drip 15 s`: the flag
 * that sets how long a quiet client is kept, the most memory (RSS) a client that never reads
 * can cost, how many clients the server serves before it exits, whether it serves them in
 * turn, and how long a client dripping an unfinished request may stay when that is not the
 * idle flag's to set (Bun.serve sheds such a client after about 12 s, whatever you ask).
 */
export interface Limits {
  idleFlag?: string;
  /** How long a client that drips an unfinished request may stay, when it is not --idle's. */
  dripSeconds?: number;
  memoryMiB?: number;
  clients?: number;
  oneAtATime: boolean;
}

/** Whether a probe's reply so far is the one it expects (a prefix is enough for a stream). */
export function replyMatches(probe: Probe, reply: Uint8Array): boolean {
  const expected = probe.reply;
  if (expected.kind === "length") return reply.length === expected.bytes;
  if (expected.kind === "pattern")
    return expected.pattern.test(Buffer.from(reply).toString("latin1"));
  return Buffer.from(reply).subarray(0, expected.bytes.length).equals(expected.bytes);
}

export function parseProbe(text: string, file: string): Probe {
  const match = text.match(/^(tcp|udp)\s+("(?:[^"\\]|\\.)*")(?:\s+padded to (\d+))?\s+->\s+(.+)$/);
  if (!match)
    throw new Error(`${file}: @serves must read PROTOCOL "REQUEST" -> REPLY (got "${text}")`);
  const [, protocol = "tcp", request = '""', padTo, reply = ""] = match;
  let bytes = Buffer.from(JSON.parse(request) as string, "latin1");
  if (padTo)
    bytes = Buffer.concat([bytes, Buffer.alloc(Math.max(0, Number(padTo) - bytes.length))]);
  const pattern = reply.match(/^\/(.+)\/([a-z]*)$/);
  const length = reply.match(/^(\d+) bytes$/);
  return {
    protocol: protocol as "tcp" | "udp",
    request: bytes,
    reply: pattern
      ? { kind: "pattern", pattern: new RegExp(pattern[1] ?? "", pattern[2]) }
      : length
        ? { kind: "length", bytes: Number(length[1]) }
        : { kind: "prefix", bytes: Buffer.from(JSON.parse(reply) as string, "latin1") },
    text,
  };
}

export function parseLimits(text: string | undefined, file: string): Limits {
  const limits: Limits = { oneAtATime: false };
  for (const part of (text ?? "").split(/\s*[·;]\s*/).filter(Boolean)) {
    const idle = part.match(/^idle (--[a-z-]+)$/);
    const memory = part.match(/^memory (\d+) MiB$/);
    const clients = part.match(/^clients (\d+)$/);
    const drip = part.match(/^drip (\d+) s$/);
    if (idle) limits.idleFlag = idle[1];
    else if (memory) limits.memoryMiB = Number(memory[1]);
    else if (clients) limits.clients = Number(clients[1]);
    else if (drip) limits.dripSeconds = Number(drip[1]);
    else if (part === "one at a time") limits.oneAtATime = true;
    else throw new Error(`${file}: @limits does not know "${part}"`);
  }
  return limits;
}

export interface Chapter {
  dir: string;
  /** First heading of the chapter README, or the folder name. */
  title: string;
  lessons: Lesson[];
  /** `tools/tours/NN-name.ts` when the chapter has a `--demo` tour. */
  tour?: string;
}

/** Reads the `/** ... *\/` header at the top of a lesson into its tags and prose. */
export function parseHeader(source: string, file: string): Lesson {
  const match = source.match(/^\s*(?:#![^\n]*\n\s*)?\/\*\*([\s\S]*?)\*\//);
  if (!match?.[1]) throw new Error(`${file} has no /** header */ at the top`);
  const lines = match[1].split("\n").map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  const tags = new Map<string, string>();
  const serves: Probe[] = [];
  const prose: string[] = [];
  for (const line of lines) {
    const tag = line.match(/^@(\w+)\s+(.*)$/);
    if (tag?.[1] === "serves") serves.push(parseProbe((tag[2] ?? "").trim(), file));
    else if (tag?.[1] && tag[2] !== undefined) tags.set(tag[1], tag[2].trim());
    else prose.push(line);
  }
  const need = (name: string): string => {
    const value = tags.get(name);
    if (!value) throw new Error(`${file}: header lacks @${name}`);
    return value;
  };
  return {
    file,
    chapter: file.split("/")[0] ?? "",
    title: need("title"),
    summary: need("summary"),
    run: need("run"),
    python: need("python")
      .split(/[,\s]+/)
      .filter((name) => name.length > 0),
    prose: prose.join("\n").trim(),
    serves,
    limits: parseLimits(tags.get("limits"), file),
  };
}

/** Every chapter folder in order, each with its lessons in order. */
export function listChapters(root: string = ROOT): Chapter[] {
  return readdirSync(root)
    .filter((name) => CHAPTER_DIR.test(name) && statSync(join(root, name)).isDirectory())
    .sort()
    .map((dir) => {
      const lessons = readdirSync(join(root, dir))
        .filter((name) => LESSON_FILE.test(name))
        .sort()
        .map((name) => {
          const file = `${dir}/${name}`;
          return parseHeader(readFileSync(join(root, file), "utf8"), file);
        });
      const readme = join(root, dir, "README.md");
      const heading = existsSync(readme)
        ? readFileSync(readme, "utf8").match(/^#\s+(.+)$/m)?.[1]
        : undefined;
      const tourFile = `tools/tours/${dir}.ts`;
      const tour = existsSync(join(root, tourFile)) ? tourFile : undefined;
      return { dir, title: heading ?? dir, lessons, tour };
    });
}

export function listLessons(root: string = ROOT): Lesson[] {
  return listChapters(root).flatMap((chapter) => chapter.lessons);
}

/** The lesson after `file` in the book: the next of its chapter, or the next chapter's first. */
export function nextLesson(file: string, lessons: Lesson[] = listLessons()): Lesson | undefined {
  const index = lessons.findIndex((lesson) => lesson.file === file);
  return index === -1 ? undefined : lessons[index + 1];
}
