/**
 * @title The book's menu
 * @summary List every lesson from its header and run the one you pick; or take the tour.
 * @run bun . [--list] [--demo] [--help]
 *
 * `bun .` shows the chapters and lessons (read from the files themselves) and runs the
 * one you choose with the arrow keys or its number. `bun . --list` prints the table
 * and exits; `bun . --demo` runs a tour of every chapter over loopback, no typing needed.
 */
import { parseArgs } from "node:util";
import { type Lesson, listChapters, ROOT } from "./tools/catalog.ts";

const usage = `usage: bun . [--list] [--demo] [--help]

  (no flag)  menu: pick a lesson with the arrow keys or its number, Enter runs it
  --list     print every lesson with its command, then exit
  --demo     run the tour of every chapter over loopback, without any input`;

function printList(): Lesson[] {
  const lessons: Lesson[] = [];
  for (const chapter of listChapters()) {
    console.log(`\n${chapter.dir} - ${chapter.title}`);
    for (const lesson of chapter.lessons) {
      lessons.push(lesson);
      console.log(
        `  ${String(lessons.length).padStart(2)}. ${lesson.title.padEnd(24)} ${lesson.summary}`,
      );
      console.log(`      ${lesson.run}`);
    }
  }
  return lessons;
}

/** Runs one lesson as the student would, with the terminal handed over to it. */
async function runLesson(lesson: Lesson): Promise<number> {
  console.log(`\n$ bun run ${lesson.file}\n`);
  const child = Bun.spawn(["bun", "run", lesson.file], {
    cwd: ROOT,
    stdio: ["inherit", "inherit", "inherit"],
  });
  // Ctrl-C is for the lesson (its servers stop on SIGINT); the menu survives it.
  const ignore = (): void => {};
  process.on("SIGINT", ignore);
  const code = await child.exited;
  process.off("SIGINT", ignore);
  console.log(`\n(${lesson.file} exited with code ${code})`);
  return code;
}

/** Every chapter's tour.ts, one after the other; stops at the first that fails. */
async function demo(): Promise<number> {
  const chapters = listChapters().filter((chapter) => chapter.tour);
  console.log(`The tour: ${chapters.length} chapter(s), everything over loopback.\n`);
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

/** Reads keys in raw mode: arrows move, digits pick, Enter runs, q or Ctrl-C leaves. */
async function menu(): Promise<void> {
  let selected = 0;
  let typed = "";
  for (;;) {
    const lessons = printList();
    const draw = (): void => {
      const lesson = lessons[selected];
      process.stdout.write(
        `\r\x1b[2K> ${typed || String(selected + 1)}. ${lesson?.title ?? ""}  (arrows, number, Enter; q quits)`,
      );
    };
    console.log();
    draw();
    const choice = await new Promise<Lesson | undefined>((resolve) => {
      process.stdin.setRawMode(true);
      process.stdin.resume();
      const onKey = (key: Buffer): void => {
        const text = key.toString();
        let done: { lesson?: Lesson } | undefined;
        if (text === "\x1b[A") selected = (selected + lessons.length - 1) % lessons.length;
        else if (text === "\x1b[B") selected = (selected + 1) % lessons.length;
        else if (/^\d$/.test(text)) {
          typed += text;
          const number = Number(typed);
          if (number >= 1 && number <= lessons.length) selected = number - 1;
        } else if (text === "\x7f") typed = typed.slice(0, -1);
        else if (text === "\r" || text === "\n") done = { lesson: lessons[selected] };
        else if (text === "q" || text === "\x03" || text === "\x04") done = {};
        if (text !== "\x7f" && !/^\d$/.test(text)) typed = "";
        if (done) {
          process.stdin.off("data", onKey);
          process.stdin.setRawMode(false);
          process.stdin.pause();
          resolve(done.lesson);
        } else draw();
      };
      process.stdin.on("data", onKey);
    });
    console.log();
    if (!choice) return;
    await runLesson(choice);
  }
}

if (import.meta.main) {
  let values: { list?: boolean; demo?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        list: { type: "boolean" },
        demo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
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
