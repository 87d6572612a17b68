/**
 * Chapter 04 against third-party peers. Our daytime and echo clients talk to a real inetd's
 * built-in services (xinetd's `daytime` and `echo`, TCP and UDP), started here in the
 * foreground on ports from freePort(); and our echo, daytime and TCP+UDP servers are driven
 * by real clients, ncat and socat, as the chapter's README tells a student to type them. A
 * missing binary skips, naming its Debian package.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { askDaytime as daytimeOverTcp } from "../../04-server/13-daytime-tcp-client.ts";
import { askDaytime as daytimeOverUdp } from "../../04-server/15-daytime-udp-client.ts";
import { checkEcho as echoOverTcp } from "../../04-server/17-echo-tcp-client.ts";
import { checkEcho as echoOverUdp } from "../../04-server/19-echo-udp-client.ts";
import { freePort, hasCommand, runLesson, startLesson, SLOW_TEST_MS } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "interop-04-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a third-party client to its exit, feeding `input`; killed if it outlives `timeoutMs`. */
async function runTool(argv: string[], input: Uint8Array | string, timeoutMs = 15_000) {
  await using child = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write(input);
  await child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout: Buffer.from(stdout), stderr };
}

/**
 * Starts a daemon with `start` and waits for `pattern` in its log file (which must exist),
 * re-reading the file on each change the kernel reports (inotify), not on a clock. The watch
 * is set before the daemon starts, so no line is missed. Rejects if the daemon exits first.
 */
function startAndWaitForLog(
  file: string,
  pattern: RegExp,
  start: () => Subprocess,
  timeoutMs = 10_000,
) {
  const read = (): string => readFileSync(file, "utf8");
  return new Promise<string>((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      watcher.close();
      if (error) reject(error);
      else resolve(read());
    };
    const check = (): void => void (pattern.test(read()) && finish());
    const watcher = watch(file, check);
    // A last look when the time is up, in case a change slipped past the watch.
    const late = (): void => finish(pattern.test(read()) ? undefined : new Error(`no ${pattern}`));
    const timer = setTimeout(late, timeoutMs);
    void start().exited.then((code) =>
      finish(new Error(`it exited (code ${code}) first: ${read()}`)),
    );
    check();
  });
}

/** One xinetd built-in service, TCP (`stream`, wait = no) or UDP (`dgram`, wait = yes). */
const service = (name: string, type: "stream" | "dgram", port: number): string => `
service ${name}
{
  type        = INTERNAL UNLISTED
  id          = ${name}-${type}
  socket_type = ${type}
  protocol    = ${type === "stream" ? "tcp" : "udp"}
  wait        = ${type === "stream" ? "no" : "yes"}
  user        = root
  bind        = 127.0.0.1
  port        = ${port}
}
`;

describe.skipIf(!hasCommand("xinetd"))(
  "our clients against xinetd's daytime and echo (needs Debian package xinetd)",
  () => {
    let xinetd: Subprocess<"ignore", "ignore", "inherit"> | undefined;
    const ports = { daytime: 0, echo: 0 };

    beforeAll(async () => {
      // UNLISTED: the services are not on their /etc/services ports (13 and 7) but on free ones.
      ports.daytime = await freePort();
      ports.echo = await freePort();
      const conf = join(dir, "xinetd.conf");
      writeFileSync(
        conf,
        (["stream", "dgram"] as const)
          .flatMap((type) => [
            service("daytime", type, ports.daytime),
            service("echo", type, ports.echo),
          ])
          .join(""),
      );
      // xinetd writes "Started working: N available services" to its log once it listens.
      const log = join(dir, "xinetd.log");
      const argv = ["xinetd", "-dontfork", "-stayalive", "-filelog", log, "-f", conf];
      writeFileSync(log, ""); // exists before xinetd starts, so its changes can be watched
      const pidfile = join(dir, "xinetd.pid");
      const start = (): Subprocess =>
        (xinetd = Bun.spawn([...argv, "-pidfile", pidfile], {
          stdio: ["ignore", "ignore", "inherit"],
        }));
      const started = await startAndWaitForLog(
        log,
        /Started working: \d+ available services/,
        start,
      );
      expect(started).toMatch(/Started working: 4 available services/);
    }, 20_000);

    afterAll(async () => {
      xinetd?.kill("SIGTERM");
      await xinetd?.exited;
    });

    test("the daytime clients over TCP and UDP read xinetd's line of time", async () => {
      const overTcp = await daytimeOverTcp("127.0.0.1", ports.daytime);
      expect(overTcp.time).toMatch(/\d\d:\d\d:\d\d/);
      expect(overTcp.bytes).toBeLessThan(100);
      const overUdp = await daytimeOverUdp("127.0.0.1", ports.daytime);
      expect(overUdp.time).toMatch(/\d\d:\d\d:\d\d/);
    });

    test("the echo clients: 1 MiB of random bytes over TCP, and a datagram over UDP, come back exactly", async () => {
      const payload = crypto.getRandomValues(new Uint8Array(65_536));
      const chunks = Array.from({ length: 16 }, () => payload);
      const tcp = await echoOverTcp("127.0.0.1", ports.echo, chunks);
      expect(tcp).toMatchObject({
        sentBytes: 1_048_576,
        receivedBytes: 1_048_576,
        identical: true,
      });
      const udp = await echoOverUdp("127.0.0.1", ports.echo, [Buffer.from("one datagram")]);
      expect(udp).toMatchObject({ sentBytes: 12, receivedBytes: 12, identical: true });
    });

    test(
      "the spawned clients, as a student runs them against a real inetd",
      async () => {
        const daytime = await runLesson("04-server/15-daytime-udp-client.ts", [
          "--host",
          "127.0.0.1",
          "--port",
          String(ports.daytime),
        ]);
        expect(daytime.code).toBe(0);
        expect(daytime.stdout).toMatch(
          new RegExp(`127\\.0\\.0\\.1:${ports.daytime} \\(udp\\) says: .*\\d\\d:\\d\\d`),
        );
        const echo = await runLesson(
          "04-server/17-echo-tcp-client.ts",
          ["--port", String(ports.echo)],
          {
            input: "typed at xinetd\n",
          },
        );
        expect(echo.code).toBe(0);
        expect(echo.stdout).toContain("typed at xinetd\n");
        expect(echo.stdout).toContain("the echo is identical");
      },
      SLOW_TEST_MS,
    );
  },
);

describe("our servers driven by real clients", () => {
  test.skipIf(!hasCommand("ncat"))(
    "ncat sends 1 MiB to our echo server and gets it back (needs Debian package ncat)",
    async () => {
      await using server = startLesson("04-server/16-echo-tcp-server.ts", ["--port", "0"]);
      const { port } = await server.listening("tcp");
      const payload = crypto.getRandomValues(new Uint8Array(1_048_576));
      // ncat half-closes when its input ends and prints what comes back until we close.
      const { code, stdout } = await runTool(["ncat", "127.0.0.1", String(port)], payload);
      expect(code).toBe(0);
      expect(stdout.length).toBe(payload.length);
      expect(Buffer.compare(stdout, Buffer.from(payload))).toBe(0);
    },
  );

  test.skipIf(!hasCommand("socat"))(
    "socat: our echo over UDP, our daytime over TCP and UDP (needs Debian package socat)",
    async () => {
      await using echo = startLesson("04-server/18-echo-udp-server.ts", ["--port", "0"]);
      const udpEcho = await echo.listening("udp");
      const echoed = await runTool(
        ["socat", "-t", "1", "-", `UDP:127.0.0.1:${udpEcho.port}`],
        "socat datagram",
      );
      expect(echoed.stdout.toString()).toBe("socat datagram");

      await using daytime = startLesson("04-server/12-daytime-tcp-server.ts", ["--port", "0"]);
      const tcp = await daytime.listening("tcp");
      await using daytimeUdp = startLesson("04-server/14-daytime-udp-server.ts", ["--port", "0"]);
      const udp = await daytimeUdp.listening("udp");
      const overTcp = await runTool(["socat", "-u", `TCP:127.0.0.1:${tcp.port}`, "-"], "");
      expect(Date.parse(overTcp.stdout.toString())).toBeGreaterThan(Date.now() - 60_000);
      // Padded: the server never answers a datagram smaller than its answer (31 bytes).
      const request = "what time is it?\n".padEnd(64);
      const overUdp = await runTool(
        ["socat", "-t", "1", "-", `UDP:127.0.0.1:${udp.port}`],
        request,
      );
      expect(overUdp.stdout.toString()).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n$/);
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!hasCommand("ncat") || !hasCommand("socat"))(
    "ncat and socat talk to the TCP+UDP server; one's exit leaves the server up (needs Debian packages ncat, socat)",
    async () => {
      await using server = startLesson("04-server/20-dual-server.ts", ["--port", "0"]);
      const tcp = await server.listening("tcp");
      const udp = await server.listening("udp");
      const first = await runTool(["ncat", "127.0.0.1", String(tcp.port)], "hello\r\nexit\n");
      expect(first.stdout.toString()).toBe("server (TCP) received: hello\nserver (TCP): goodbye\n");
      const second = await runTool(["ncat", "127.0.0.1", String(tcp.port)], "again\n");
      expect(second.stdout.toString()).toBe("server (TCP) received: again\n");
      // Padded with spaces, so that the reply is not bigger than the request.
      const datagram = await runTool(
        ["socat", "-t", "1", "-", `UDP:127.0.0.1:${udp.port}`],
        "exit".padEnd(64),
      );
      expect(datagram.stdout.toString()).toBe("server (UDP): goodbye");
      expect(server.proc.exitCode).toBeNull();
    },
  );

  test.skipIf(!hasCommand("ncat") || !hasCommand("socat"))(
    "the README's UDP recipes: a datagram padded by printf gets the time, and the Informe's reply; unpadded, nothing (needs Debian packages ncat, socat)",
    async () => {
      await using daytime = startLesson("04-server/14-daytime-udp-server.ts", ["--port", "0"]);
      const time = await daytime.listening("udp");
      // nc stops at the end of its input, maybe before the reply: the sleep keeps it listening.
      const overNc = await runTool(
        ["sh", "-c", `(printf '%-64s'; sleep 1) | nc -u 127.0.0.1 ${time.port}`],
        "",
      );
      expect(overNc.stdout.toString()).toMatch(/ GMT\r\n$/);
      const bare = await runTool(["socat", "-t", "1", "-", `UDP:127.0.0.1:${time.port}`], "\n");
      expect(bare.stdout.toString()).toBe("");
      await using dual = startLesson("04-server/20-dual-server.ts", ["--port", "0"]);
      const udp = await dual.listening("udp");
      const hello = await runTool(
        ["sh", "-c", `printf '%-64s' hello | socat -t1 - UDP:127.0.0.1:${udp.port}`],
        "",
      );
      expect(hello.stdout.toString()).toBe("server (UDP) received: hello");
      const overNcToo = await runTool(
        ["sh", "-c", `(printf '%-64s' hello; sleep 1) | nc -u 127.0.0.1 ${udp.port}`],
        "",
      );
      expect(overNcToo.stdout.toString()).toBe("server (UDP) received: hello");
    },
    SLOW_TEST_MS,
  );
});
