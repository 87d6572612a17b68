// Lesson 14, the web client: Bun.serve hands out the page and bridges each WebSocket to a TCP
// connection to the chat server, a chat line a message. In-process: the page and its headers,
// lines both ways, a message that is not one line of text, another site's page, a chat server
// that is not there or goes away, and backpressure both ways (a browser that reads slowly
// stops the bridge reading the chat server; a chat server that is behind pauses the
// WebSocket). As a student runs it. And in a real headless Chromium (tests/fixtures/
// chat-browser.ts): two pages, the terminal client and nc talk to each other.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChat } from "../../06-chat/10-chat-server.ts";
import { startWebBridge } from "../../06-chat/14-web-client.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import { ChatPage, closeBrowser, hasChromium } from "../fixtures/chat-browser.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { fakeChat } from "../fixtures/chat-fake-server.ts";
import { WsTestClient, whenStill } from "../fixtures/chat-ws-client.ts";
import {
  closedPort,
  inUse,
  ROOT,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  tracker,
} from "../helpers.ts";

const track = tracker();
const LESSON = "06-chat/14-web-client.ts";

/** A chat server and the bridge to it, in this process. */
function bridged() {
  const mailbox = new Mailbox(":memory:");
  const chat = track(startChat("127.0.0.1", 0, mailbox, { cheapHashes: true, log: () => {} }));
  const web = track(startWebBridge("127.0.0.1", 0, { host: "127.0.0.1", port: chat.tcp.port }));
  return { mailbox, chatPort: chat.tcp.port, port: web.port ?? 0 };
}

const opened: WsTestClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) if (!client.closed) client.ws.close();
});
const browser = async (port: number): Promise<WsTestClient> => {
  const client = await WsTestClient.open(port);
  opened.push(client);
  return client;
};

describe("startWebBridge (in-process)", () => {
  test("GET / is the page, with its script and style sheet, from this server only", async () => {
    const { port } = bridged();
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toBe("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="chat.js" defer></script>');
    for (const [path, type] of [
      ["/chat.js", "text/javascript; charset=utf-8"],
      ["/chat.css", "text/css; charset=utf-8"],
    ] as const) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect({ path, status: response.status, type: response.headers.get("content-type") }).toEqual(
        {
          path,
          status: 200,
          type,
        },
      );
    }
    expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/chat`)).status).toBe(426);
  });

  test("the page loads nothing from the internet, and shows text with textContent only", () => {
    for (const name of ["index.html", "chat.js", "chat.css"]) {
      const text = readFileSync(join(ROOT, "06-chat/web", name), "utf8");
      expect({ name, urls: text.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi) ?? [] }).toEqual({
        name,
        urls: [],
      });
    }
    const script = readFileSync(join(ROOT, "06-chat/web/chat.js"), "utf8");
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  test("a chat line a message, both ways, with the chat's own accounts", async () => {
    const { port, chatPort } = bridged();
    const alice = await browser(port);
    expect(await alice.login("alice", "pw")).toBe(
      "OK alice: your password is set; 0 stored for you",
    );
    await using bob = await ChatTestClient.connect(chatPort);
    await bob.login("bob", "pw");
    alice.send("hello from a browser");
    expect(await bob.line(/^MSG alice/)).toBe("MSG alice hello from a browser");
    bob.send("/msg alice and back\n");
    expect(await alice.message(/^PRIV/)).toMatch(/^PRIV \d+ bob and back$/);
    expect(await alice.message(/^JOIN/)).toBe("JOIN bob");
  });

  test("a wrong password through the bridge is the chat's own ERR", async () => {
    const { port, chatPort } = bridged();
    (
      await ChatTestClient.connect(chatPort).then(async (c) => (await c.login("bob", "right"), c))
    ).close();
    const mallory = await browser(port);
    expect(await mallory.login("bob", "wrong")).toBe("ERR password: wrong password for bob");
  });

  test("a message that is not one line of text closes the WebSocket (1003), and the chat sees the member leave", async () => {
    const { port, chatPort } = bridged();
    await using bob = await ChatTestClient.connect(chatPort);
    await bob.login("bob", "pw");
    const alice = await browser(port);
    await alice.login("alice", "pw");
    alice.send("/msg bob one\n/quit two lines");
    expect(await alice.whenClosed()).toEqual({
      code: 1003,
      reason: "one line of text per message",
    });
    expect(await bob.line(/^LEAVE/)).toBe("LEAVE alice left");
    const binary = await browser(port);
    binary.ws.send(new Uint8Array([1, 2, 3]));
    expect((await binary.whenClosed()).code).toBe(1003);
  });

  test("a message longer than the chat's 64 KiB line closes the WebSocket (1009)", async () => {
    const { port } = bridged();
    const alice = await browser(port);
    alice.send("x".repeat(64 * 1024 + 1));
    expect((await alice.whenClosed()).code).toBe(1009);
  });

  test("another site's page may not open the bridge (403); this page's origin may", async () => {
    const { port } = bridged();
    const upgrade = (origin: string) =>
      fetch(`http://127.0.0.1:${port}/chat`, {
        headers: {
          origin,
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
    expect((await upgrade("http://evil.example")).status).toBe(403);
    expect((await upgrade(`http://127.0.0.1:${port}`)).status).toBe(101);
  });

  test("no chat server there: the WebSocket closes (1011) with the sentence why", async () => {
    const chatPort = closedPort();
    const web = track(startWebBridge("127.0.0.1", 0, { host: "127.0.0.1", port: chatPort }));
    const ws = new WebSocket(`ws://127.0.0.1:${web.port}/chat`);
    const closed = await new Promise<CloseEvent>((resolve) => {
      ws.onclose = resolve;
    });
    expect({ code: closed.code, reason: closed.reason }).toEqual({
      code: 1011,
      reason: `127.0.0.1:${chatPort} (tcp) refused the connection: nothing listens there; start the server, or check --chat-port`,
    });
  });

  test("the chat server goes away: the WebSocket closes (1011), so the page can come back", async () => {
    const fake = track(fakeChat());
    const web = track(startWebBridge("127.0.0.1", 0, { host: "127.0.0.1", port: fake.port }));
    const alice = await browser(web.port ?? 0);
    fake.stop();
    expect(await alice.whenClosed()).toEqual({
      code: 1011,
      reason: "the chat server closed the connection",
    });
  });
});

describe("backpressure, both ways", () => {
  test(
    "a browser that reads nothing: the bridge stops reading the chat server (ws.send() said -1), and at drain every line comes, in order",
    async () => {
      const fake = track(fakeChat());
      const web = track(startWebBridge("127.0.0.1", 0, { host: "127.0.0.1", port: fake.port }));
      const slow = await browser(web.port ?? 0);
      slow.send("/login slow pw");
      await fake.loggedIn;
      const before = slow.messages.length;
      // Bun's client WebSocket can stop reading its socket, as a busy browser tab does.
      slow.ws.pause();
      fake.flood(1000);
      const taken = await whenStill(() => fake.written);
      const lines = fake.stopFlood();
      // Kernel buffers on both sides of the bridge, and one read: a few MB. A bridge that
      // read on would take gigabytes (and drop lines past Bun's backpressure limit).
      expect(taken).toBeLessThan(32 * 1024 * 1024);
      slow.ws.resume();
      await slow.message(new RegExp(`^MSG flood n=${lines - 1} `), before, 20_000);
      const numbers = slow.messages
        .filter((text) => text.startsWith("MSG flood "))
        .map((text) => Number(text.split(/[= ]/)[3]));
      expect(numbers.length).toBe(lines);
      expect(numbers.every((n, index) => n === index)).toBe(true);
    },
    SLOW_TEST_MS,
  );

  test(
    "a chat server that reads nothing: the bridge pauses the WebSocket, so the browser keeps what it sends; once it reads, every line arrives in order",
    async () => {
      const fake = track(fakeChat());
      const web = track(startWebBridge("127.0.0.1", 0, { host: "127.0.0.1", port: fake.port }));
      const alice = await browser(web.port ?? 0);
      alice.send("/login alice pw");
      await fake.loggedIn;
      fake.pause();
      const pad = "y".repeat(1000);
      const count = 30_000;
      for (let n = 0; n < count; n++) alice.send(`${n} ${pad}`);
      const waiting = await whenStill(() => alice.ws.bufferedAmount);
      // 30 MB sent; what the bridge took is bounded by kernel buffers and its outbox.
      expect(waiting).toBeGreaterThan(count * 1000 - 16 * 1024 * 1024);
      let expected = 0;
      let inOrder = true;
      const all = new Promise<void>((resolve) => {
        fake.onLine = (line) => {
          inOrder &&= line.startsWith(`${expected} `);
          expected++;
          if (expected === count) resolve();
        };
      });
      fake.resume();
      await all;
      expect(inOrder).toBe(true);
      expect(fake.lines).toBe(count);
    },
    SLOW_TEST_MS,
  );
});

describe("run as a student would", () => {
  test(
    "alone: it starts a chat server in its own process, says so, and serves the page; Ctrl-C stops both",
    async () => {
      await using lesson = startLesson(LESSON, ["--port", "0"]);
      const { port } = await lesson.listening();
      expect(lesson.stdout).toMatch(
        /^no --chat-port: started 06-chat\/10-chat-server\.ts on port \d+$/m,
      );
      await lesson.waitFor(
        /open http:\/\/127\.0\.0\.1:\d+\/ in a browser; Ctrl-C stops the server/,
      );
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
      const carol = await browser(port);
      expect(await carol.login("carol", "secret")).toBe(
        "OK carol: your password is set; 0 stored for you",
      );
      const { code, stdout } = await lesson.stop("SIGINT");
      expect(code).toBe(0);
      expect(stdout).toContain("carol logged in from 127.0.0.1:");
    },
    SLOW_TEST_MS,
  );

  test("with --chat-port: the bridge to that chat server", async () => {
    const { chatPort } = bridged();
    await using lesson = startLesson(LESSON, ["--port", "0", "--chat-port", String(chatPort)]);
    const { port } = await lesson.listening();
    const dave = await browser(port);
    expect(await dave.login("dave", "pw")).toStartWith("OK dave:");
    expect(lesson.stdout).not.toContain("no --chat-port");
  });

  test("a port in use: one sentence, exit 1", async () => {
    const { port } = bridged();
    const { code, stderr } = await runLesson(LESSON, [
      "--port",
      String(port),
      "--chat-port",
      "5050",
    ]);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: inUse(port) });
  });

  test("bad flags: one sentence, the usage, exit 2", async () => {
    for (const [args, sentence] of [
      [
        ["--chat-port", "70000"],
        '--chat-port must be a whole number from 0 to 65535 (got "70000")',
      ],
      [["--idle", "0"], '--idle must be a whole number from 1 to 255 (got "0")'],
      [
        ["--host", "localhost"],
        '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "localhost")',
      ],
    ] as const) {
      const { code, stderr } = await runLesson(LESSON, [...args]);
      expect({ args, code, first: stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });
});

/** `nc` (Debian's ncat): a person typing chat lines by hand. */
class Nc implements AsyncDisposable {
  stdout = "";
  private readonly child: Subprocess<"pipe", "pipe", "ignore">;

  constructor(port: number) {
    const child = Bun.spawn(["nc", "127.0.0.1", String(port)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "ignore",
    });
    this.child = child;
    void (async () => {
      for await (const chunk of child.stdout) this.stdout += Buffer.from(chunk).toString();
    })();
  }

  type(line: string): void {
    this.child.stdin.write(`${line}\n`);
    this.child.stdin.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.child.kill();
    await this.child.exited;
  }
}

const sha256 = (bytes: Uint8Array): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

describe("in a real browser: Debian's chromium, driven by Bun.WebView", () => {
  afterAll(async () => {
    if (hasChromium) await closeBrowser();
  });

  test.skipIf(!hasChromium || !Bun.which("nc"))(
    "two pages, the terminal client and nc talk to each other; a private message reaches only its nick; HTML shows as text; files both ways keep their SHA-256; a restarted server brings the pages back (needs Debian packages chromium and ncat)",
    async () => {
      const data = mkdtempSync(join(tmpdir(), "chat-browser-"));
      const files = join(data, "carol-files");
      try {
        const serverArgs = ["--data", data, "--cheap-hashes"];
        await using chat = startLesson("06-chat/10-chat-server.ts", ["--port", "0", ...serverArgs]);
        const { port: chatPort } = await chat.listening();
        await using web = startLesson(LESSON, ["--port", "0", "--chat-port", String(chatPort)]);
        const { port } = await web.listening();
        const url = `http://127.0.0.1:${port}/`;

        // carol, at the terminal client, leaves bob a message before his page is open.
        (
          await ChatTestClient.connect(chatPort).then(async (c) => (await c.login("bob", "pw"), c))
        ).close();
        await using carol = startLesson(
          "06-chat/11-chat-client.ts",
          ["--port", String(chatPort), "--nick", "carol", "--files", files],
          { env: { CHAT_PASSWORD: "pw" } },
        );
        await carol.waitFor(/^ok: carol: /m);
        carol.write("/msg bob kept while you were away\n");
        await carol.waitFor(/^ok: stored for bob$/m);
        await using dave = new Nc(chatPort);
        dave.type("/login dave pw");

        using alice = await ChatPage.open(url);
        await alice.login("alice", "secret");
        using bob = await ChatPage.open(url);
        await bob.login("bob", "pw");
        expect(await bob.shows("#log", "^carol \\(to you\\)")).toBe(
          "carol (to you): kept while you were away",
        );

        // Everyone to everyone: a page, the terminal, nc.
        await alice.say("hello from a page");
        expect(await bob.shows("#log", "^alice: hello")).toBe("alice: hello from a page");
        await carol.waitFor(/^alice: hello from a page$/m);
        carol.write("hello from the terminal\n");
        expect(await alice.shows("#log", "^carol: hello")).toBe("carol: hello from the terminal");
        expect(await bob.shows("#log", "^carol: hello")).toBe("carol: hello from the terminal");
        dave.type("hello from nc");
        expect(await alice.shows("#log", "^dave: hello")).toBe("dave: hello from nc");
        await carol.waitFor(/^dave: hello from nc$/m);
        expect(dave.stdout).toContain(
          "MSG alice hello from a page\nMSG carol hello from the terminal",
        );

        // A private message: bob's page shows it; nobody else ever sees it.
        await alice.choose("bob");
        await alice.say("only for bob");
        expect(await bob.shows("#log", "only for bob")).toBe("alice (to you): only for bob");
        await alice.choose(undefined);
        await alice.say("after the secret");
        await carol.waitFor(/^alice: after the secret$/m);
        expect(await bob.shows("#log", "after the secret")).toBe("alice: after the secret");
        expect(carol.stdout).not.toContain("only for bob");
        expect(dave.stdout).toContain("MSG alice after the secret");
        expect(dave.stdout).not.toContain("only for bob");

        // HTML in a message is text on the page: nothing of it runs or renders.
        const html =
          '<img src=x onerror="window.owned=1"><script>window.owned=2</script><b>bold</b>';
        dave.type(html);
        expect(await alice.shows("#log", "^dave: <img")).toBe(`dave: ${html}`);
        expect(
          await alice.run("document.querySelectorAll('#log img, #log script, #log b').length"),
        ).toBe(0);
        expect(await alice.run("window.owned === undefined")).toBe(true);

        // A file from a page to the terminal client, and one from the terminal to a page.
        const photo = crypto.getRandomValues(new Uint8Array(200_000));
        const photoPath = join(data, "holiday photo.bin");
        writeFileSync(photoPath, photo);
        await alice.choose("carol");
        await alice.sendFile(photoPath);
        const saved = await carol.waitFor(/^\* saved (\S+) \(200000 bytes, SHA-256 checked\)$/m);
        expect(sha256(readFileSync(saved[1] ?? ""))).toBe(sha256(photo));
        expect(await alice.shows("#log", "^ok: file holiday_photo.bin: ")).toBe(
          "ok: file holiday_photo.bin: sent to carol",
        );
        const notes = new TextEncoder().encode("notes from the terminal\n".repeat(3000));
        const notesPath = join(data, "notes.txt");
        writeFileSync(notesPath, notes);
        carol.write(`/send bob ${notesPath}\n`);
        expect(await bob.shows("#log", "notes.txt .*checked$")).toBe(
          `carol sent notes.txt (${notes.length} bytes) download SHA-256 ${sha256(notes)} checked`,
        );
        const downloaded = await bob.download("#log a[download]", join(data, "downloads"));
        expect(sha256(readFileSync(downloaded))).toBe(sha256(notes));

        // The chat server is killed and started again on its port: the pages come back.
        chat.proc.kill("SIGKILL");
        await chat.finished();
        expect(await alice.shows("#status", "^connection lost")).toMatch(
          /trying again in \d\.\d s$/,
        );
        await using again = startLesson("06-chat/10-chat-server.ts", [
          "--port",
          String(chatPort),
          ...serverArgs,
        ]);
        await again.listening();
        await alice.shows("#status", "^connected as alice$", 30_000);
        await bob.shows("#status", "^connected as bob$", 30_000);
        await bob.say("back again");
        expect(await alice.shows("#log", "^bob: back")).toBe("bob: back again");

        mkdirSync(join(ROOT, ".reports"), { recursive: true });
        await alice.screenshot(join(ROOT, ".reports", "06-chat-web-client.png"));
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
