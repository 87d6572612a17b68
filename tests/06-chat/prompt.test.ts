// 06-chat/prompt.ts: the terminal client's prompt. In raw mode (a terminal) it edits the line
// key by key, and a line printed meanwhile appears above the one being typed, which is drawn
// again whole; with a pipe it reads whole lines. Lines typed before anyone listens wait, in
// order, for questions and then the listener. Driven here with a fake terminal; the real one
// (a pseudo-terminal) is in 11-chat-client.test.ts.
import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { Prompt } from "../../06-chat/prompt.ts";

/** A fake stdin (a TTY or a pipe) and stdout, and what the prompt did with them. */
function fakeTerminal(tty: boolean, listening = true) {
  const input = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    setRawMode?: (on: boolean) => void;
  };
  const modes: boolean[] = [];
  if (tty) {
    input.isTTY = true;
    input.setRawMode = (on) => {
      modes.push(on);
    };
  }
  let screen = "";
  const output = {
    columns: 40,
    write: (text: string) => {
      screen += text;
    },
  };
  const lines: string[] = [];
  const ends: string[] = [];
  const prompt = new Prompt({ prompt: "> ", input: input as unknown as NodeJS.ReadStream, output });
  const listen = (): void =>
    prompt.listen(
      (line) => void lines.push(line),
      (why) => void ends.push(why),
    );
  if (listening) listen();
  /** Types keys and waits for the prompt to have read them. */
  const type = async (keys: string): Promise<void> => {
    input.write(keys);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const end = async (last = ""): Promise<void> => {
    input.end(last);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    prompt,
    lines,
    ends,
    modes,
    type,
    end,
    listen,
    screen: () => screen,
    clear: () => {
      screen = "";
    },
  };
}

describe("in a terminal (raw mode)", () => {
  test("puts the terminal in raw mode, and gives it back on close", () => {
    const term = fakeTerminal(true);
    expect(term.prompt.raw).toBe(true);
    term.prompt.close();
    expect(term.modes).toEqual([true, false]);
  });

  test("a message printed while you type goes above your line, which is drawn again whole", async () => {
    const term = fakeTerminal(true);
    await term.type("hel");
    term.clear();
    term.prompt.print("alice: hi");
    expect(term.screen()).toBe("\r\x1b[2Kalice: hi\n\r\x1b[2K> hel");
    await term.type("lo\r");
    expect(term.lines).toEqual(["hello"]);
    term.prompt.close();
  });

  test("Backspace and Ctrl-U edit the line; arrows and other escape sequences are ignored", async () => {
    const term = fakeTerminal(true);
    await term.type("héllo☃\x7f\x7fx\x1b[D\x1b[A\x1bOHy\r");
    await term.type("gone\x15kept\r");
    expect(term.lines).toEqual(["héllxy", "kept"]);
    term.prompt.close();
  });

  test("a long line shows its end, within the terminal's width", async () => {
    const term = fakeTerminal(true);
    await term.type("a".repeat(30) + "b".repeat(30));
    const last = term.screen().split("\r\x1b[2K").pop() ?? "";
    expect(last).toBe(`> ${"a".repeat(7)}${"b".repeat(30)}`);
    term.prompt.close();
  });

  test("ask(): a hidden answer (a password) is never drawn, and goes to nobody else", async () => {
    const term = fakeTerminal(true, false);
    const answer = term.prompt.ask("password: ", true);
    await term.type("s3cret\r");
    expect(await answer).toBe("s3cret");
    expect(term.screen()).not.toContain("s3cret");
    term.listen();
    await term.type("after\r");
    expect(term.lines).toEqual(["after"]);
    term.prompt.close();
  });

  test("Ctrl-D on an empty line ends the input; Ctrl-C interrupts", async () => {
    const first = fakeTerminal(true);
    await first.type("x\x04\x7f\x04");
    expect(first.ends).toEqual(["end"]);
    const second = fakeTerminal(true);
    await second.type("abc\x03");
    expect(second.ends).toEqual(["interrupt"]);
    expect(second.modes).toEqual([true, false]);
  });
});

describe("with a pipe", () => {
  test("reads whole lines, prints as it goes, and ends with the pipe (its last line too)", async () => {
    const term = fakeTerminal(false);
    expect(term.prompt.raw).toBe(false);
    await term.type("one\ntwo\nthr");
    term.prompt.print("alice: hi");
    expect(term.screen()).toBe("alice: hi\n");
    await term.end("ee");
    expect(term.lines).toEqual(["one", "two", "three"]);
    expect(term.ends).toEqual(["end"]);
  });

  test("lines that come at once wait, in order, for each question and then for the listener", async () => {
    const term = fakeTerminal(false, false);
    await term.end("bob\nhunter2\nhello\n/list\n");
    expect(await term.prompt.ask("nick: ")).toBe("bob");
    expect(await term.prompt.ask("password: ", true)).toBe("hunter2");
    expect(term.ends).toEqual([]);
    term.listen();
    expect(term.lines).toEqual(["hello", "/list"]);
    expect(term.ends).toEqual(["end"]);
  });

  test("a question the input ends before answering gets undefined", async () => {
    const term = fakeTerminal(false, false);
    await term.end("");
    expect(await term.prompt.ask("nick: ")).toBeUndefined();
  });
});
