/**
 * @title The book's menu
 * @summary Pick a chapter, then a lesson, and run it; or take the tour of every chapter.
 * @run bun . [--list] [--demo] [--help]
 *
 * `bun .` shows the chapters, then the lessons of the one you open (read from the files
 * themselves), and runs the lesson you pick with the arrow keys or its number. When the
 * lesson ends, its output stays on the screen until you press Enter. `bun . --list` prints
 * every lesson with its command; `bun . --demo` plays every chapter over loopback.
 */
import { parseArgs } from "node:util";
import { type Chapter, type Lesson, listChapters, nextLesson, ROOT } from "./tools/catalog.ts";

const usage = `usage: bun . [--list] [--demo] [--help]

The book's menu. With no flag: pick a chapter, then a lesson, with the arrow keys or its
number; Enter runs it; its output stays until you press Enter again.

  --list      print every lesson with its command, then exit
  --demo      the tour: every chapter played over loopback, nothing to type
  -h, --help  print this text and exit`;

/** One key, decoded from what the terminal sent. */
type Key =
  "up" | "down" | "left" | "right" | "enter" | "back" | "quit" | `digit:${string}` | "other";

/**
 * The keyboard, read from the first moment: keys pressed while the menu starts, or several
 * arriving in one read (a paste, "23" typed fast), wait in a queue and none is lost.
 */
class Keyboard {
  private queue: Key[] = [];
  private waiting: ((key: Key) => void) | undefined;
  private readonly onData = (chunk: Buffer): void => {
    for (const key of decodeKeys(chunk.toString("utf8"))) this.queue.push(key);
    this.deliver();
  };

  start(): void {
    process.stdin.setRawMode(true);
    process.stdin.on("data", this.onData);
    process.stdin.resume();
  }

  /** Gives the terminal back (to a lesson, or at the end). */
  stop(): void {
    process.stdin.off("data", this.onData);
    process.stdin.setRawMode(false);
    process.stdin.pause();
  }

  next(): Promise<Key> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }

  private deliver(): void {
    const key = this.queue.shift();
    if (key === undefined || !this.waiting) {
      if (key !== undefined) this.queue.unshift(key);
      return;
    }
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve(key);
  }
}

/** Splits what one read returned into keys: escape sequences, digits, Enter, letters. */
export function decodeKeys(text: string): Key[] {
  const keys: Key[] = [];
  const arrows: Record<string, Key> = { A: "up", B: "down", C: "right", D: "left" };
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? "";
    const arrow = text.slice(i).match(/^\x1b[[O]([ABCD])/);
    if (arrow?.[1]) {
      keys.push(arrows[arrow[1]] ?? "other");
      i += 2;
    } else if (/\d/.test(char)) keys.push(`digit:${char}`);
    else if (char === "\r" || char === "\n") keys.push("enter");
    else if (char === "\x7f" || char === "\b") keys.push("back");
    else if (char === "q" || char === "\x03" || char === "\x04") keys.push("quit");
    else if (char === "k") keys.push("up");
    else if (char === "j") keys.push("down");
    else keys.push("other");
  }
  return keys;
}

/**
 * A list to pick from: arrows move, digits type a number (a number too big says so and
 * selects nothing), Enter picks, Backspace or the left arrow go back. Lines that do not fit
 * the terminal scroll with the selection.
 */
async function pick(
  keyboard: Keyboard,
  title: string,
  rows: string[],
  selected: number,
  describe: (index: number) => string[],
): Promise<{ index: number } | "back" | "quit"> {
  let typed = "";
  let message = "";
  for (;;) {
    // Everything but the rows takes its lines first; the rows get the rest of the screen.
    const titleLines = title.split("\n");
    const details = describe(selected);
    const reserved = titleLines.length + details.length + 4;
    const height = Math.max(3, (process.stdout.rows || 24) - reserved);
    const top = Math.min(
      Math.max(0, selected - Math.floor(height / 2)),
      Math.max(0, rows.length - height),
    );
    const lines = rows.slice(top, top + height).map((row, offset) => {
      const index = top + offset;
      return `${index === selected ? ">" : " "} ${String(index + 1).padStart(2)}. ${row}`;
    });
    const more =
      rows.length > height
        ? `  (${top + 1}-${Math.min(rows.length, top + height)} of ${rows.length})`
        : "";
    const prompt = typed ? `number: ${typed}` : message;
    const screen = [...titleLines, "", ...lines, more, ...details, "", prompt];
    process.stdout.write(`\x1b[2J\x1b[H${screen.join("\r\n")}`);
    const key = await keyboard.next();
    message = "";
    if (key.startsWith("digit:")) {
      typed += key.slice(6);
      const number = Number(typed);
      if (number >= 1 && number <= rows.length) selected = number - 1;
      else {
        message = `there is no ${number} here (1-${rows.length})`;
        typed = "";
      }
      continue;
    }
    typed = "";
    if (key === "up") selected = (selected + rows.length - 1) % rows.length;
    else if (key === "down") selected = (selected + 1) % rows.length;
    else if (key === "enter" || key === "right") return { index: selected };
    else if (key === "back" || key === "left") return "back";
    else if (key === "quit") return "quit";
  }
}

/** Runs one lesson as the student would, with the terminal handed over to it. */
async function run(lesson: Lesson): Promise<number> {
  process.stdout.write(`\x1b[2J\x1b[H$ ${lesson.run.replace(/ \[.*$/, "")}\n\n`);
  const child = Bun.spawn(["bun", "run", lesson.file], {
    cwd: ROOT,
    stdio: ["inherit", "inherit", "inherit"],
  });
  // Ctrl-C is for the lesson (its servers stop on SIGINT); the menu survives it.
  const ignore = (): void => {};
  process.on("SIGINT", ignore);
  const code = await child.exited;
  process.off("SIGINT", ignore);
  return code;
}

async function menu(): Promise<void> {
  const keyboard = new Keyboard();
  keyboard.start();
  const chapters = listChapters();
  const all = chapters.flatMap((chapter) => chapter.lessons);
  let chapterIndex = 0;
  let lessonIndex = 0;
  try {
    for (;;) {
      const chapterRows = chapters.map(
        (chapter) =>
          `${chapter.dir.padEnd(16)} ${chapter.title} (${chapter.lessons.length} lessons)`,
      );
      const chosen = await pick(
        keyboard,
        "sockets-lab: pick a chapter (arrows or its number, Enter opens it, q quits)",
        chapterRows,
        chapterIndex,
        () => [],
      );
      if (chosen === "quit" || chosen === "back") return;
      chapterIndex = chosen.index;
      lessonIndex = 0;
      for (;;) {
        const chapter = chapters[chapterIndex] as Chapter;
        const lessonRows = chapter.lessons.map((lesson) =>
          `${lesson.title.padEnd(26)} ${lesson.summary}`.slice(
            0,
            (process.stdout.columns || 100) - 6,
          ),
        );
        const title = `${chapter.dir} - ${chapter.title}\n(arrows or a number, Enter runs it, Backspace: the chapters, q quits)`;
        const choice = await pick(keyboard, title, lessonRows, lessonIndex, (index) => {
          const lesson = chapter.lessons[index];
          if (!lesson) return [];
          const next = nextLesson(lesson.file, all);
          return [
            "",
            `  ${lesson.run}`,
            next ? `  next: ${next.file} (${next.title})` : "  the last lesson of the book",
          ];
        });
        if (choice === "quit") return;
        if (choice === "back") break;
        const lesson = chapter.lessons[choice.index] as Lesson;
        keyboard.stop();
        const code = await run(lesson);
        keyboard.start();
        const next = nextLesson(lesson.file, all);
        const then = next ? `the next lesson, ${next.title}, selected` : "the list";
        process.stdout.write(
          `\r\n(${lesson.file} exited with code ${code}) Enter: back to the menu, with ${then}; q quits\r\n`,
        );
        let key = await keyboard.next();
        while (key !== "enter" && key !== "quit") key = await keyboard.next();
        if (key === "quit") return;
        if (next) {
          chapterIndex = chapters.findIndex((entry) => entry.dir === next.chapter);
          lessonIndex = (chapters[chapterIndex]?.lessons ?? []).findIndex(
            (entry) => entry.file === next.file,
          );
        }
      }
    }
  } finally {
    keyboard.stop();
    process.stdout.write("\r\n");
  }
}

function printList(): void {
  let number = 0;
  for (const chapter of listChapters()) {
    console.log(`\n${chapter.dir} - ${chapter.title}`);
    for (const lesson of chapter.lessons) {
      number++;
      console.log(`  ${String(number).padStart(2)}. ${lesson.title.padEnd(26)} ${lesson.summary}`);
      console.log(`      ${lesson.run}`);
    }
  }
}

/** Every chapter's tour, one after the other; stops at the first that fails. */
async function demo(): Promise<number> {
  const chapters = listChapters().filter((chapter) => chapter.tour);
  console.log(
    `The tour: ${chapters.length} chapter(s), everything over loopback, nothing to type.\n`,
  );
  for (const chapter of chapters) {
    console.log(`=== ${chapter.dir}: ${chapter.title} ===`);
    const child = Bun.spawn(["bun", "run", chapter.tour ?? ""], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    const code = await child.exited;
    if (code !== 0) {
      console.error(`The ${chapter.dir} tour failed (exit ${code}); see its output above.`);
      return 1;
    }
    console.log();
  }
  console.log("End of the tour. Run `bun .` to pick a lesson yourself.");
  return 0;
}

if (import.meta.main) {
  let values: { list?: boolean; demo?: boolean; help?: boolean } = {};
  try {
    ({ values } = parseArgs({
      options: {
        list: { type: "boolean" },
        demo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    const flag = (error as Error).message.match(/'(-[^' ]+)/)?.[1] ?? "";
    console.error(`unknown flag ${flag}: see the list below\n\n${usage}`);
    process.exit(2);
  }
  if (values.help) console.log(usage);
  else if (values.demo) process.exitCode = await demo();
  else if (values.list || !process.stdin.isTTY) {
    printList();
    if (!values.list)
      console.log("\n(no terminal to read keys from: run `bun run FILE` from the list above)");
  } else await menu();
}
