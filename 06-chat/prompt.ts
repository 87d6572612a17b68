/**
 * A prompt that keeps what you are typing while lines arrive, for the chat's terminal client
 * (06-chat/11-chat-client). Without it a message printed in the middle of your typing cuts
 * your line in two: `hel[alice: hi]lo`.
 *
 * In a terminal, the prompt puts stdin in raw mode and reads key by key, so it always knows
 * the line being typed; `print()` then clears that line (`\r` and `ESC [2K`), prints the
 * message, and draws the prompt and the partial line again under it. With stdin a pipe (a
 * test, `echo ... |`) there is nothing to redraw: lines are read whole and printed as they
 * come. Lines typed before anyone `listen()`s wait, in order, for `ask()` or the listener.
 * Ctrl-D on an empty line, or the end of the pipe, ends the input; Ctrl-C interrupts it.
 */
import { LineReader } from "../lib/stream.ts";

export type End = "end" | "interrupt";

export interface PromptOptions {
  /** What is shown before the typing, e.g. `> `. */
  prompt: string;
  input?: NodeJS.ReadStream;
  output?: { write(text: string): unknown; columns?: number };
  /** Raw mode even when `input.isTTY` is false (tests). */
  raw?: boolean;
}

const CLEAR_LINE = "\r\x1b[2K";

export class Prompt {
  readonly raw: boolean;
  private typed = "";
  private shown: string;
  private hidden = false;
  private closed = false;
  private ended: End | undefined;
  private readonly queue: string[] = [];
  private onLine: ((line: string) => void) | undefined;
  private onEnd: ((why: End) => void) | undefined;
  private answer: ((line: string | undefined) => void) | undefined;
  private readonly input: NodeJS.ReadStream;
  private readonly output: { write(text: string): unknown; columns?: number };
  private readonly lines = new LineReader();
  private readonly reading: (chunk: Buffer | string) => void;
  private readonly ending: () => void;

  constructor(private readonly options: PromptOptions) {
    this.shown = options.prompt;
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.raw = options.raw ?? this.input.isTTY === true;
    if (this.raw && this.input.isTTY) this.input.setRawMode(true);
    this.reading = (chunk) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (this.raw) this.keys(bytes.toString("utf8"));
      else for (const line of this.lines.push(bytes)) this.take(line);
    };
    this.ending = () => {
      const last = this.lines.rest();
      if (last !== undefined) this.take(last);
      this.end("end");
    };
    this.input.on("data", this.reading);
    this.input.on("end", this.ending);
    this.input.resume();
    this.draw();
  }

  /** Every line typed from now on (and those waiting) goes to `onLine`; then `onEnd`. */
  listen(onLine: (line: string) => void, onEnd: (why: End) => void): void {
    this.onLine = onLine;
    this.onEnd = onEnd;
    this.deliver();
  }

  /** Prints `text` above the line being typed, which stays as it was. */
  print(text: string): void {
    if (!this.raw) {
      this.output.write(`${text}\n`);
      return;
    }
    // "\n" alone: a terminal in raw mode still turns it into "\r\n" on output (ONLCR).
    this.output.write(`${CLEAR_LINE}${text}\n`);
    this.draw();
  }

  /**
   * Asks `question` and resolves with the next line typed (undefined if the input ends
   * first); with `hidden`, the typing is not shown (a password).
   */
  ask(question: string, hidden = false): Promise<string | undefined> {
    this.shown = question;
    this.hidden = hidden;
    if (!this.raw) this.output.write(question);
    this.draw();
    return new Promise((resolve) => {
      this.answer = (line) => {
        this.shown = this.options.prompt;
        this.hidden = false;
        if (!this.raw) this.output.write("\n");
        this.draw();
        resolve(line);
      };
      this.deliver();
    });
  }

  /** Gives the terminal back as it was. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.reading);
    this.input.off("end", this.ending);
    this.input.pause();
    if (this.raw && this.input.isTTY) this.input.setRawMode(false);
    if (this.raw) this.output.write(CLEAR_LINE);
  }

  /** Keys typed in raw mode: printable ones edit the line; a few controls act. */
  private keys(text: string): void {
    for (let at = 0; at < text.length && !this.ended; at++) {
      const key = text[at] ?? "";
      if (key === "\r" || key === "\n") this.enter();
      else if (key === "\x7f" || key === "\b") this.typed = [...this.typed].slice(0, -1).join("");
      else if (key === "\x15") this.typed = "";
      else if (key === "\x03") this.end("interrupt");
      else if (key === "\x04" && this.typed === "") this.end("end");
      // Arrows and other keys send escape sequences: skip them whole.
      else if (key === "\x1b") at += escapeLength(text, at) - 1;
      else if (key >= " ") this.typed += key;
    }
    this.draw();
  }

  private enter(): void {
    const line = this.typed;
    this.typed = "";
    this.output.write(CLEAR_LINE);
    if (!this.hidden) this.output.write(`${this.shown}${line}\n`);
    this.take(line);
  }

  private take(line: string): void {
    this.queue.push(line);
    this.deliver();
  }

  /** Hands waiting lines to a question, else to the listener; then the end, if it came. */
  private deliver(): void {
    while (this.queue.length > 0) {
      const answer = this.answer;
      this.answer = undefined;
      if (answer) answer(this.queue.shift());
      else if (this.onLine) this.onLine(this.queue.shift() ?? "");
      else return;
      // The next question is asked after this answer is read: let it come first.
      if (answer) return;
    }
    if (this.ended === undefined) return;
    const answer = this.answer;
    this.answer = undefined;
    answer?.(undefined);
    const onEnd = this.onEnd;
    if (!onEnd) return;
    this.onEnd = undefined;
    this.close();
    onEnd(this.ended);
  }

  private end(why: End): void {
    if (this.ended) return;
    this.ended = why;
    // Ctrl-C drops what was typed but not yet read.
    if (why === "interrupt") this.queue.length = 0;
    this.deliver();
  }

  /** The prompt and as much of the typing as fits on the terminal's line. */
  private draw(): void {
    if (!this.raw || this.closed) return;
    const room = Math.max(10, (this.output.columns ?? 80) - this.shown.length - 1);
    const typed = this.hidden ? "" : [...this.typed].slice(-room).join("");
    this.output.write(`${CLEAR_LINE}${this.shown}${typed}`);
  }
}

/** How long the escape sequence at `at` is: `ESC [ ... letter`, `ESC O x`, or `ESC x`. */
function escapeLength(text: string, at: number): number {
  const next = text[at + 1];
  if (next === "[") {
    const end = text.slice(at + 2).search(/[@-~]/);
    return end === -1 ? text.length - at : end + 3;
  }
  if (next === "O") return Math.min(3, text.length - at);
  return next === undefined ? 1 : 2;
}
