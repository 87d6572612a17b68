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
}

export interface Chapter {
  dir: string;
  /** First heading of the chapter README, or the folder name. */
  title: string;
  lessons: Lesson[];
  /** `NN-name/tour.ts` when the chapter has a `--demo` tour. */
  tour?: string;
}

/** Reads the `/** ... *\/` header at the top of a lesson into its tags and prose. */
export function parseHeader(source: string, file: string): Lesson {
  const match = source.match(/^\s*(?:#![^\n]*\n\s*)?\/\*\*([\s\S]*?)\*\//);
  if (!match?.[1]) throw new Error(`${file} has no /** header */ at the top`);
  const lines = match[1].split("\n").map((line) => line.replace(/^\s*\* ?/, "").trimEnd());
  const tags = new Map<string, string>();
  const prose: string[] = [];
  for (const line of lines) {
    const tag = line.match(/^@(\w+)\s+(.*)$/);
    if (tag?.[1] && tag[2] !== undefined) tags.set(tag[1], tag[2].trim());
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
      const tour = existsSync(join(root, dir, "tour.ts")) ? `${dir}/tour.ts` : undefined;
      return { dir, title: heading ?? dir, lessons, tour };
    });
}

export function listLessons(root: string = ROOT): Lesson[] {
  return listChapters(root).flatMap((chapter) => chapter.lessons);
}
