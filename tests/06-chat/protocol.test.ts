// 06-chat/protocol.ts: the chat's wire format, read by the server, the clients and the
// bridges. Every client line parsed (good and malformed), every server line formatted and
// parsed back, the nick and file name rules, the cleaning of control characters and escape
// sequences, a file arriving in chunks, and the UDP counter's datagrams.
import { describe, expect, test } from "bun:test";
import {
  CHUNK_BYTES,
  clean,
  clientLine,
  counterDatagram,
  HELP,
  helpFor,
  IncomingFile,
  MAX_LINE_BYTES,
  nickKey,
  parseClientLine,
  parseCounterDatagram,
  parseServerLine,
  safeFileName,
  serverLine,
  whyBadFileName,
  whyBadNick,
} from "../../06-chat/protocol.ts";

const sha256 = (bytes: Uint8Array | string): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe("nicks and file names", () => {
  test("a nick is 1 to 16 ASCII letters, digits, _ or -, starting with a letter", () => {
    for (const nick of ["a", "alice", "Bob_2", "x-y", "A234567890123456"])
      expect({ nick, why: whyBadNick(nick) }).toEqual({ nick, why: undefined });
    expect(whyBadNick("")).toBe("a nick has 1 to 16 characters");
    expect(whyBadNick("A2345678901234567")).toBe("a nick has 1 to 16 characters");
    for (const nick of ["2pac", "_x", "al ice", "al\u001bice", "аlice", "alice!"])
      expect(whyBadNick(nick)).toBe(
        "a nick is ASCII letters, digits, _ and -, and starts with a letter",
      );
  });

  test("nicks are one account whatever their case", () => {
    expect(nickKey("Alice")).toBe(nickKey("aLICE"));
    expect(nickKey("Alice")).toBe("alice");
  });

  test("a file name is never a path nor hidden; safeFileName makes one from anything", () => {
    expect(whyBadFileName("report.pdf")).toBeUndefined();
    for (const name of ["../etc/passwd", "a/b", ".hidden", "", "a b", "x".repeat(101)])
      expect(whyBadFileName(name)).toBeDefined();
    expect(safeFileName("/home/me/my report (1).pdf")).toBe("my_report__1_.pdf");
    expect(safeFileName("C:\\Users\\me\\..notes.txt")).toBe("notes.txt");
    expect(safeFileName("...")).toBe("file");
    expect(whyBadFileName(safeFileName("../../\u001b[2Jevil"))).toBeUndefined();
  });
});

describe("clean(): what one client sends never reaches another's terminal raw", () => {
  test("ESC, and so every escape sequence, shows as ^[", () => {
    expect(clean("\u001b[2J\u001b[31mred")).toBe("^[[2J^[[31mred");
    expect(clean("\u001b]0;pwned\u0007")).toBe("^[]0;pwned^G");
  });

  test("C0 controls, DEL, C1 controls (0x9b is a one-byte CSI) and bidi overrides are shown", () => {
    expect(clean("a\rb\bc\u0000d\u007f")).toBe("a^Mb^Hc^@d^?");
    expect(clean("x\u009b2Jy")).toBe("x<U+009B>2Jy");
    expect(clean("abc\u202edcba")).toBe("abc<U+202E>dcba");
    expect(clean("line\u2028break")).toBe("line<U+2028>break");
  });

  test("text, accents, emoji and CJK pass untouched; a tab becomes a space", () => {
    expect(clean("héllo wörld ☃ 日本語 👋")).toBe("héllo wörld ☃ 日本語 👋");
    expect(clean("a\tb")).toBe("a b");
  });

  test("nothing cleaned contains a control character", () => {
    const every = Array.from({ length: 0x3000 }, (_, code) => String.fromCharCode(code)).join("");
    expect(clean(every)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe("parseClientLine: a client's line, understood", () => {
  test("a plain line is something to say; // says a line that starts with /", () => {
    expect(parseClientLine("hello all")).toEqual({ kind: "say", text: "hello all" });
    expect(parseClientLine("")).toEqual({ kind: "say", text: "" });
    expect(parseClientLine("//help is a word")).toEqual({ kind: "say", text: "/help is a word" });
  });

  test("the commands, in any case", () => {
    expect(parseClientLine("/login alice open sesame")).toEqual({
      kind: "login",
      nick: "alice",
      password: "open sesame",
    });
    expect(parseClientLine("/MSG bob hi there")).toEqual({
      kind: "msg",
      to: "bob",
      text: "hi there",
    });
    expect(parseClientLine("/list")).toEqual({ kind: "list" });
    expect(parseClientLine("/help")).toEqual({ kind: "help" });
    expect(parseClientLine("/quit")).toEqual({ kind: "quit", reason: "quit" });
    expect(parseClientLine("/quit gone fishing")).toEqual({ kind: "quit", reason: "gone fishing" });
    expect(parseClientLine("/ack 7 8  9")).toEqual({ kind: "ack", ids: [7, 8, 9] });
    expect(parseClientLine("/pong")).toEqual({ kind: "pong" });
    const hash = sha256("x");
    expect(parseClientLine(`/file bob notes.txt 1 ${hash.toUpperCase()}`)).toEqual({
      kind: "file",
      to: "bob",
      name: "notes.txt",
      size: 1,
      sha256: hash,
    });
    expect(parseClientLine("/data aGk=")).toEqual({ kind: "data", bytes: Buffer.from("hi") });
  });

  test("malformed commands get their code and one sentence", () => {
    const cases: [string, string, string][] = [
      ["/login", "login", "give a nick and a password: /login NICK PASSWORD"],
      ["/login alice", "login", "give a nick and a password: /login NICK PASSWORD"],
      [
        "/login 9lives pw",
        "nick",
        "a nick is ASCII letters, digits, _ and -, and starts with a letter",
      ],
      ["/msg bob", "msg", "give a nick and a message: /msg NICK TEXT"],
      ["/msg b@d hi", "nick", "a nick is ASCII letters, digits, _ and -, and starts with a letter"],
      ["/ack", "ack", "give the ids to acknowledge: /ack ID [ID...]"],
      ["/ack 1 two", "ack", "give the ids to acknowledge: /ack ID [ID...]"],
      [
        "/file bob",
        "file",
        "give a nick, a name, a size and a SHA-256: /file NICK NAME SIZE SHA256",
      ],
      [
        `/file bob ../x 1 ${sha256("")}`,
        "file",
        "a file name is letters, digits, ., _ and -, and does not start with a dot",
      ],
      ["/file bob x 1 abc", "file", "the SHA-256 is 64 hexadecimal digits"],
      ["/data not*base64", "data", "a /data line carries base64"],
      ["/data", "data", "a /data line carries base64"],
      ["/lsit", "unknown", "/lsit is not a command; /help lists them"],
    ];
    for (const [line, code, why] of cases)
      expect({ line, parsed: parseClientLine(line) }).toEqual({
        line,
        parsed: { kind: "bad", code, why },
      });
    expect(parseClientLine(`/login alice ${"p".repeat(129)}`)).toEqual({
      kind: "bad",
      code: "login",
      why: "a password has at most 128 characters",
    });
  });

  test("a /data line carries at most CHUNK_BYTES, so it fits a line", () => {
    const most = Buffer.alloc(CHUNK_BYTES, 7);
    expect(parseClientLine(clientLine.data(most).trimEnd())).toEqual({ kind: "data", bytes: most });
    expect(clientLine.data(most).length).toBeLessThan(MAX_LINE_BYTES);
    const tooMuch = Buffer.alloc(CHUNK_BYTES + 1);
    expect(parseClientLine(clientLine.data(tooMuch).trimEnd())).toMatchObject({
      kind: "bad",
      code: "data",
    });
  });

  test("an unknown command's word is cleaned and shortened before it is echoed", () => {
    const parsed = parseClientLine(`/\u001b[2J${"x".repeat(100)} a`);
    expect(parsed).toMatchObject({ kind: "bad", code: "unknown" });
    const why = (parsed as { why: string }).why;
    expect(why).not.toContain("\u001b");
    expect(why.length).toBeLessThan(80);
  });

  test("clientLine writes what parseClientLine reads", () => {
    const hash = sha256("abc");
    const pairs: [string, unknown][] = [
      [clientLine.login("alice", "pw"), { kind: "login", nick: "alice", password: "pw" }],
      [clientLine.say("hi"), { kind: "say", text: "hi" }],
      [clientLine.say("/not a command"), { kind: "say", text: "/not a command" }],
      [clientLine.msg("bob", "yo"), { kind: "msg", to: "bob", text: "yo" }],
      [clientLine.list(), { kind: "list" }],
      [clientLine.help(), { kind: "help" }],
      [clientLine.quit(), { kind: "quit", reason: "quit" }],
      [clientLine.quit("bye"), { kind: "quit", reason: "bye" }],
      [clientLine.ack([1, 2]), { kind: "ack", ids: [1, 2] }],
      [
        clientLine.file("bob", "a.txt", 3, hash),
        { kind: "file", to: "bob", name: "a.txt", size: 3, sha256: hash },
      ],
      [clientLine.data(Buffer.from("abc")), { kind: "data", bytes: Buffer.from("abc") }],
      [clientLine.pong(), { kind: "pong" }],
    ];
    for (const [line, parsed] of pairs) {
      expect(line.endsWith("\n")).toBe(true);
      expect(parseClientLine(line.slice(0, -1))).toEqual(
        parsed as ReturnType<typeof parseClientLine>,
      );
    }
  });
});

describe("server lines: formatted, then parsed back by a client", () => {
  test("every line round-trips", () => {
    const hash = sha256("file");
    const pairs: [string, unknown][] = [
      [serverLine.hello("welcome"), { kind: "hello", text: "welcome" }],
      [serverLine.ok("sent to bob"), { kind: "ok", text: "sent to bob" }],
      [
        serverLine.err("taken", "alice is here"),
        { kind: "err", code: "taken", text: "alice is here" },
      ],
      [serverLine.msg("alice", "hi all"), { kind: "msg", from: "alice", text: "hi all" }],
      [serverLine.priv(42, "alice", "psst"), { kind: "priv", id: 42, from: "alice", text: "psst" }],
      [serverLine.join("bob"), { kind: "join", nick: "bob" }],
      [
        serverLine.leave("bob", "too slow: 1024 KiB"),
        { kind: "leave", nick: "bob", reason: "too slow: 1024 KiB" },
      ],
      [serverLine.list(["alice", "bob"]), { kind: "list", nicks: ["alice", "bob"] }],
      [
        serverLine.file(9, "alice", "a.bin", 4, hash),
        { kind: "file", id: 9, from: "alice", name: "a.bin", size: 4, sha256: hash },
      ],
      [
        serverLine.data(9, Buffer.from([0, 255, 10, 13])),
        { kind: "data", id: 9, bytes: Buffer.from([0, 255, 10, 13]) },
      ],
      [serverLine.end(9), { kind: "end", id: 9 }],
      [serverLine.ping(), { kind: "ping" }],
      [serverLine.bye("quit"), { kind: "bye", reason: "quit" }],
    ];
    for (const [line, event] of pairs) {
      expect(line.endsWith("\n") && !line.slice(0, -1).includes("\n")).toBe(true);
      expect(parseServerLine(line.slice(0, -1))).toEqual(
        event as ReturnType<typeof parseServerLine>,
      );
    }
    expect(serverLine.help(["a", "b"])).toBe("HELP a\nHELP b\n");
    expect(parseServerLine("HELP /list")).toEqual({ kind: "help", text: "/list" });
  });

  test("a line a client does not know, or a malformed one, is `unknown`, never a throw", () => {
    for (const line of [
      "",
      "WHAT now",
      "PRIV x alice hi",
      "FILE 1 a ../x 3 abc",
      "ERR nocolon",
      "DATA",
    ])
      expect(parseServerLine(line)).toEqual({ kind: "unknown", line });
  });

  test("the help lists every command; helpFor picks a lesson's", () => {
    const words = HELP.map((line) => line.split(" ")[0]);
    for (const word of ["/login", "TEXT", "/msg", "/list", "/quit", "/ack", "/file", "PING"])
      expect(words).toContain(word);
    expect(helpFor(["/login", "/quit"]).map((line) => line.split(" ")[0])).toEqual([
      "/login",
      "/quit",
    ]);
  });
});

describe("IncomingFile: a file arriving in chunks", () => {
  test("counts and hashes the chunks; complete at its size; the digest is the file's", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(100_000));
    const file = new IncomingFile(bytes.length, sha256(bytes));
    for (let at = 0; at < bytes.length; at += 7_000)
      expect(file.add(bytes.subarray(at, at + 7_000))).toBe(true);
    expect(file.complete).toBe(true);
    expect(file.digest()).toBe(sha256(bytes));
  });

  test("a chunk past the announced size is refused, and not counted", () => {
    const file = new IncomingFile(3, sha256("abc"));
    expect(file.add(Buffer.from("ab"))).toBe(true);
    expect(file.add(Buffer.from("cd"))).toBe(false);
    expect(file.received).toBe(2);
    expect(file.complete).toBe(false);
  });

  test("one changed byte changes the digest", () => {
    const file = new IncomingFile(3, sha256("abc"));
    file.add(Buffer.from("abd"));
    expect(file.complete).toBe(true);
    expect(file.digest()).not.toBe(file.sha256);
  });
});

describe("the UDP counter's datagrams", () => {
  test("ID TEXT in, the same out; anything else is not a counter datagram", () => {
    expect(parseCounterDatagram(Buffer.from(counterDatagram("ab12-7", "hello there")))).toEqual({
      id: "ab12-7",
      text: "hello there",
    });
    expect(parseCounterDatagram(Buffer.from("7 "))).toEqual({ id: "7", text: "" });
    for (const bad of ["", "#####", "7", "a b".replace(" ", "\n"), `${"x".repeat(41)} hi`, "id! x"])
      expect(parseCounterDatagram(Buffer.from(bad))).toBeUndefined();
  });

  test("the answer (the id) is always shorter than the datagram it answers", () => {
    for (const id of ["1", "abcdef01-99", "x".repeat(40)]) {
      const datagram = counterDatagram(id, "");
      expect(Buffer.byteLength(id)).toBeLessThan(Buffer.byteLength(datagram));
    }
  });
});
