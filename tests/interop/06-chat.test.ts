/**
 * Chapter 06 against third-party peers: two people chatting with nothing but `ncat` (as `nc`),
 * by the README's recipe, through lesson 01 and through the complete server; socat as a
 * client; a Python client in the LAB's style (plain socket calls) that splits a line inside a
 * UTF-8 character; `ncat -u` typing a datagram to the UDP counter; and the IRC door beside
 * ngircd, a real IRC server: the same refusal of a line over 512 bytes, the same python3-irc
 * script welcomed by both. A missing binary skips, naming its Debian package.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ngircd } from "../bench/06-chat.ts";
import { hasPythonIrc, IrcTestClient, PythonIrc } from "../fixtures/chat-irc.ts";
import { hasCommand, SLOW_TEST_MS, startLesson } from "../helpers.ts";

const folders: string[] = [];
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});
const dataFolder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-interop-"));
  folders.push(made);
  return made;
};

/** A third-party program with its stdin to type into and its stdout to wait on. */
class Tool implements AsyncDisposable {
  stdout = "";
  private readonly child: Subprocess<"pipe", "pipe", "ignore">;
  private changed: () => void = () => {};

  constructor(argv: string[]) {
    const child = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    this.child = child;
    void (async () => {
      for await (const chunk of child.stdout) {
        this.stdout += Buffer.from(chunk).toString();
        this.changed();
      }
      this.changed();
    })();
  }

  type(text: string): void {
    this.child.stdin.write(text);
    this.child.stdin.flush();
  }

  /** Resolves once stdout matches `pattern`; rejects after `timeoutMs`, showing what came. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} in ${JSON.stringify(this.stdout)}`)),
        timeoutMs,
      );
      this.changed = () => {
        if (!pattern.test(this.stdout)) return;
        clearTimeout(timer);
        resolve();
      };
      this.changed();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.child.kill();
    await this.child.exited;
  }
}

const hasNcat = hasCommand("ncat");

describe("two people chatting with ncat, by the README's recipe", () => {
  test.skipIf(!hasNcat)("through the complete server (needs Debian package ncat)", async () => {
    await using server = startLesson("06-chat/10-chat-server.ts", [
      "--port",
      "0",
      "--data",
      dataFolder(),
      "--cheap-hashes",
    ]);
    const { port } = await server.listening();
    await using alice = new Tool(["ncat", "127.0.0.1", String(port)]);
    await using bob = new Tool(["ncat", "127.0.0.1", String(port)]);
    await alice.waitFor(/^HELLO chat on Bun/m);
    alice.type("/login alice secret\n");
    await alice.waitFor(/^OK alice: your password is set; 0 stored for you$/m);
    bob.type("/login bob hunter2\n");
    await alice.waitFor(/^JOIN bob$/m);
    bob.type("hello\n");
    await alice.waitFor(/^MSG bob hello$/m);
    alice.type("/msg bob only for you\n");
    await alice.waitFor(/^OK sent to bob$/m);
    await bob.waitFor(/^PRIV \d+ alice only for you$/m);
    const id = bob.stdout.match(/^PRIV (\d+) /m)?.[1];
    bob.type(`/ack ${id}\n/list\n`);
    await bob.waitFor(/^LIST alice bob$/m);
    alice.type("/quit lunch\n");
    await bob.waitFor(/^LEAVE alice lunch$/m);
    await alice.waitFor(/^BYE lunch$/m);
    expect(bob.stdout).not.toMatch(/^ERR/m);
  });

  test.skipIf(!hasNcat)(
    "through lesson 01, with no login at all (needs Debian package ncat)",
    async () => {
      await using server = startLesson("06-chat/01-broadcast.ts", ["--port", "0"]);
      const { port } = await server.listening();
      await using one = new Tool(["ncat", "127.0.0.1", String(port)]);
      await using two = new Tool(["ncat", "127.0.0.1", String(port)]);
      await one.waitFor(/^HELLO you are guest\d+/m);
      await two.waitFor(/^HELLO you are guest\d+/m);
      const name = one.stdout.match(/^HELLO you are (guest\d+)/m)?.[1];
      one.type("héllo ☃\n");
      await two.waitFor(new RegExp(`^JOIN ${name}\nMSG ${name} héllo ☃$`, "m"));
    },
  );
});

test.skipIf(!hasCommand("socat"))(
  "socat as a client: /help and /list (needs Debian package socat)",
  async () => {
    await using server = startLesson("06-chat/10-chat-server.ts", [
      "--port",
      "0",
      "--data",
      dataFolder(),
      "--cheap-hashes",
    ]);
    const { port } = await server.listening();
    await using socat = new Tool(["socat", "-", `TCP:127.0.0.1:${port}`]);
    socat.type("/help\n/login carol pw\n/list\n");
    await socat.waitFor(/^LIST carol$/m);
    expect(socat.stdout).toMatch(/^HELP \/login NICK PASSWORD/m);
  },
);

test.skipIf(!hasCommand("python3"))(
  "a Python client of the LAB's style, splitting a line inside a UTF-8 character (needs python3)",
  async () => {
    await using server = startLesson("06-chat/10-chat-server.ts", [
      "--port",
      "0",
      "--data",
      dataFolder(),
      "--cheap-hashes",
    ]);
    const { port } = await server.listening();
    const script = `
import socket, time
def client(nick):
    s = socket.create_connection(("127.0.0.1", ${port}))
    s.sendall(("/login %s pw\\n" % nick).encode())
    return s
reader = client("reader")
writer = client("writer")
time.sleep(0.3)
line = "日本語 in pieces\\n".encode()
writer.send(line[:2]); time.sleep(0.1); writer.send(line[2:])
data = b""
reader.settimeout(5)
while b"MSG writer" not in data or not data.endswith(b"\\n"):
    data += reader.recv(4096)
print([l for l in data.decode().split("\\n") if l.startswith("MSG")][0])
`;
    const child = Bun.spawn(["python3", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const stdout = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    expect(stdout.trim()).toBe("MSG writer 日本語 in pieces");
  },
);

test.skipIf(!hasNcat)(
  "ncat -u types a datagram to the UDP counter and gets its id back (needs Debian package ncat)",
  async () => {
    await using server = startLesson("06-chat/12-udp-counter.ts", ["--port", "0", "--count", "5"]);
    const { port } = await server.listening("udp");
    await using ncat = new Tool(["ncat", "-u", "127.0.0.1", String(port)]);
    // Loopback UDP may drop: type it again until the answer comes (the counter counts it once).
    for (let attempt = 0; attempt < 5 && !ncat.stdout.includes("n1"); attempt++) {
      ncat.type("n1 hello from ncat\n");
      await ncat.waitFor(/n1/, 1_000).catch(() => {});
    }
    expect(ncat.stdout).toBe("n1");
    await server.waitFor(/#1 from 127\.0\.0\.1:\d+: "hello from ncat\\n"/);
  },
);

describe("the IRC door beside a real IRC server, ngircd", () => {
  const hasNgircd = existsSync("/usr/sbin/ngircd");

  /** Lines sent raw, then everything the server says until it closes (or 3 s pass). */
  async function exchange(port: number, lines: string[]): Promise<string[]> {
    const client = await IrcTestClient.connect(port);
    client.send(...lines);
    await client.whenClosed(3_000).catch(() => {});
    client.socket.terminate();
    return client.lines;
  }

  test.skipIf(!hasNgircd)(
    "a line over 512 bytes, CR LF included: the door refuses it as ngircd does, ERROR and the close (needs Debian package ngircd)",
    async () => {
      const irc = await ngircd();
      await using door = startLesson("06-chat/15-irc-door.ts", ["--port", "0"]);
      const { port } = await door.listening();
      try {
        const tooLong = `PRIVMSG #chat :${"y".repeat(600)}`;
        const theirs = await exchange(irc.port, ["NICK probe", "USER probe 0 * :p", tooLong]);
        const ours = await exchange(port, ["PASS pw", "NICK probe", "USER probe 0 * :p", tooLong]);
        expect(theirs.at(-1)).toBe("ERROR :Request too long");
        expect(ours.at(-1)).toBe("ERROR :Request too long");
        expect(ours.some((line) => line.includes(" 001 probe "))).toBe(true);
      } finally {
        await irc.stop();
      }
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!hasNgircd || !hasPythonIrc())(
    "the same python3-irc script on ngircd and on the door: welcomed, in the channel, a message from another user arrives (needs Debian packages ngircd and python3-irc)",
    async () => {
      const irc = await ngircd();
      await using door = startLesson("06-chat/15-irc-door.ts", ["--port", "0"]);
      const { port } = await door.listening();
      try {
        for (const [server, serverPort, password] of [
          ["ngircd", irc.port, ""],
          ["the door", port, "pw"],
        ] as const) {
          await using client = new PythonIrc(serverPort, "alice", password);
          expect({ server, event: await client.event(/^welcome/) }).toEqual({
            server,
            event: "welcome alice",
          });
          client.do("join #chat");
          await client.event(/^namreply/);
          const bob = await IrcTestClient.connect(serverPort);
          if (password) bob.send(`PASS ${password}`);
          bob.send("NICK bob", "USER bob 0 * :Bob", "JOIN #chat", "PRIVMSG #chat :hi alice");
          expect({ server, event: await client.event(/^pubmsg/) }).toEqual({
            server,
            event: "pubmsg bob #chat hi alice",
          });
          bob.socket.terminate();
        }
      } finally {
        await irc.stop();
      }
    },
    SLOW_TEST_MS,
  );
});
