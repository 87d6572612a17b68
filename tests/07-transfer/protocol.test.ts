// 07-transfer/protocol.ts: the file server's command lines, its replies, the name rules and
// format_bytes. Pure functions: every command, every malformed one, every hostile name.
import { describe, expect, test } from "bun:test";
import {
  checkName,
  errorOf,
  formatBytes,
  listingCount,
  MAX_NAME_BYTES,
  parseCommand,
  parseEntry,
  parseOffer,
  printable,
  reply,
} from "../../07-transfer/protocol.ts";

const SHA = "a".repeat(64);

describe("parseCommand", () => {
  test("reads every command, verbs in any case, words split at spaces", () => {
    expect(parseCommand("LIST")).toEqual({ verb: "LIST" });
    expect(parseCommand("list ")).toEqual({ verb: "LIST" });
    expect(parseCommand("GET hello.txt")).toEqual({ verb: "GET", name: "hello.txt", offset: 0 });
    expect(parseCommand("get docs/a.txt 1024")).toEqual({
      verb: "GET",
      name: "docs/a.txt",
      offset: 1024,
    });
    expect(parseCommand(`PUT a.bin 10 ${SHA.toUpperCase()}`)).toEqual({
      verb: "PUT",
      name: "a.bin",
      size: 10,
      sha256: SHA,
      replace: false,
    });
    expect(parseCommand(`PUT a.bin 0 ${SHA} replace`)).toMatchObject({ replace: true, size: 0 });
    for (const verb of ["READY", "CANCEL", "QUIT"] as const)
      expect(parseCommand(verb)).toEqual({ verb });
  });

  test("a malformed command is INVALID with the sentence to answer", () => {
    const why = (line: string) => (parseCommand(line) as { why?: string }).why;
    expect(why("")).toStartWith("an empty line");
    expect(why("FETCH x")).toStartWith('unknown command "FETCH": send LIST, GET name [offset]');
    expect(why("GET")).toStartWith("GET takes other words");
    expect(why("GET a b c")).toStartWith("GET takes other words");
    expect(why("LIST everything")).toStartWith("LIST takes other words");
    expect(why("GET a -5")).toBe('the offset must be a whole number of bytes (got "-5")');
    expect(why("GET a 1e9")).toBe('the offset must be a whole number of bytes (got "1e9")');
    expect(why(`PUT a ten ${SHA}`)).toBe('the size must be a whole number of bytes (got "ten")');
    expect(why("PUT a 10 abc")).toBe("the SHA-256 must be 64 hex digits (sha256sum prints it)");
    expect(why(`PUT a 10 ${SHA} please`)).toBe(
      'the last word of PUT may only be "replace" (got "please")',
    );
    expect(why("\u001b[31mRED")).toContain("\\x1b[31mRED");
  });
});

describe("checkName: the name rules", () => {
  test("plain names and folders are fine", () => {
    for (const name of ["hello.txt", "docs/a.txt", "ünïcode-名前.bin", "a/b/c/d.e"])
      expect(checkName(name)).toBeUndefined();
  });

  test("each way out, and each name that cannot be said, is refused with a reason", () => {
    const cases: [string, string][] = [
      ["", "give a file name"],
      ["../secret.txt", '".." would leave the shared folder'],
      ["docs/../../secret.txt", '".." would leave the shared folder'],
      ["/etc/passwd", "an absolute path"],
      ["a\u0000b", "control characters"],
      ["a\nb", "control characters"],
      ["a\u0085b", "control characters"],
      ["..\\secret.txt", "backslash"],
      ["two words", "a space"],
      ["docs//a", "an empty folder name"],
      ["docs/", "an empty folder name"],
      [".hidden", "starts with a dot"],
      ["docs/.upload-0123", "starts with a dot"],
      [".", "starts with a dot"],
      ["x".repeat(256), "longer than 255 bytes"],
      [`${"d/".repeat(600)}x`, `at most ${MAX_NAME_BYTES}`],
    ];
    for (const [name, reason] of cases)
      expect({ name, why: checkName(name) }).toEqual({
        name,
        why: expect.stringContaining(reason),
      });
  });
});

describe("replies", () => {
  test("a listing, its count line and its entries read back", () => {
    const text = reply.listing([
      { name: "a.txt", size: 3, modified: "2025-01-02T03:04:05Z" },
      { name: "b.bin", size: 1024, modified: "2025-01-02T03:04:06Z" },
    ]);
    const [head, first, second] = text.split("\n");
    expect(head).toBe("OK 2 files");
    expect(listingCount(head ?? "")).toBe(2);
    expect(listingCount("OK 1 file")).toBe(1);
    expect(listingCount("ERR no")).toBeUndefined();
    expect(parseEntry(first ?? "")).toEqual({
      name: "a.txt",
      size: 3,
      modified: "2025-01-02T03:04:05Z",
    });
    expect(parseEntry(second ?? "")?.size).toBe(1024);
    expect(parseEntry("not an entry")).toBeUndefined();
  });

  test("SENDING_FILE names the file, its whole size, its SHA-256 and the offset, and reads back", () => {
    const offer = { name: "a.bin", size: 10, sha256: SHA, offset: 4 };
    expect(reply.sending(offer)).toBe(`SENDING_FILE a.bin 10 ${SHA} 4\n`);
    expect(parseOffer(reply.sending(offer).trim())).toEqual(offer);
    expect(parseOffer("SENDING_FILE a.bin 10 short 0")).toBeUndefined();
  });

  test("ERR carries one sentence; the other replies are fixed words", () => {
    expect(reply.error("no such file: x")).toBe("ERR no such file: x\n");
    expect(errorOf("ERR no such file: x")).toBe("no such file: x");
    expect(errorOf("OK fine")).toBeUndefined();
    expect(reply.ready()).toBe("READY\n");
    expect(reply.bye()).toBe("BYE\n");
    expect(reply.ok("cancelled")).toBe("OK cancelled\n");
  });

  test("printable escapes control characters and shortens long names", () => {
    expect(printable("a\u0000b\u001b")).toBe("a\\x00b\\x1b");
    expect(printable("x".repeat(100))).toHaveLength(80);
  });
});

describe("formatBytes (the lab's format_bytes, in binary units)", () => {
  test("bytes, then KiB, MiB, GiB with one decimal", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KiB");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(10 * 1024 * 1024)).toBe("10.0 MiB");
    expect(formatBytes(2 ** 30)).toBe("1.0 GiB");
    expect(formatBytes(5 * 2 ** 40)).toBe("5.0 TiB");
  });

  test("never prints 1024.0 of a unit: it steps up first", () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe("1.0 MiB");
    expect(formatBytes(2 ** 30 - 1)).toBe("1.0 GiB");
  });
});
