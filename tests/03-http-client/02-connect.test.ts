// 02-connect: a TCP connection and its two ends; every address of a name tried in turn; a
// time limit on the connect; each failure one sentence. Loopback only, ports opened here.
import { describe, expect, test } from "bun:test";
import { connectTo, ends, type Resolver } from "../../03-http-client/02-connect.ts";
import { whyConnectFailed } from "../../lib/cli.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  hasCommand,
  PRIVATE_NETWORK,
  runLesson,
  SLOW_TEST_MS,
  tracker,
} from "../helpers.ts";

const FILE = "03-http-client/02-connect.ts";
const track = tracker();
const refused = (port: number): string =>
  `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`;
const silent = (port: number, seconds: number): string =>
  `127.0.0.1:${port} (tcp) did not answer (no answer within ${seconds} s): the host may be down, or a firewall drops the packets`;
const privateNetwork = await canUsePrivateNetwork();

describe("02-connect: a TCP connection and its two ends", () => {
  test("both ends are what the server sees, in reverse", async () => {
    const seen = Promise.withResolvers<{ address: string; port: number }>();
    const server = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: {
          open: (socket) =>
            seen.resolve({ address: socket.remoteAddress, port: socket.remotePort }),
          data() {},
        },
      }),
    );
    const { socket, ms } = await connectTo("127.0.0.1", server.port, 5_000);
    const { local, remote } = ends(socket);
    socket.end();
    expect(remote).toEqual({ address: "127.0.0.1", port: server.port });
    expect(await seen.promise).toEqual({ address: local.address, port: local.port });
    expect(local.family).toBe("IPv4");
    expect(ms).toBeGreaterThan(0);
  });

  test("a refused port is one sentence; the next address of the name is then tried", async () => {
    const port = closedPort();
    const error = await connectTo("127.0.0.1", port, 5_000).catch((caught) => caught);
    expect(await whyConnectFailed(error, "127.0.0.1", port)).toBe(refused(port));
    const server = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    // 127.0.0.2 is loopback too, but nothing listens there on this port.
    const asked: string[] = [];
    const resolver: Resolver = async (name) => {
      asked.push(name);
      return [{ address: "127.0.0.2" }, { address: "127.0.0.1" }];
    };
    const { socket } = await connectTo("two-addresses.example", server.port, 5_000, resolver);
    expect(socket.remoteAddress).toBe("127.0.0.1");
    expect(asked).toEqual(["two-addresses.example"]);
    socket.end();
    // A name the resolver does not know: lib's sentence for it.
    const unknown = Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    const failed = await connectTo("no-such.example", 80, 5_000, () =>
      Promise.reject(unknown),
    ).catch((caught) => caught);
    expect(await whyConnectFailed(failed, "no-such.example", 80)).toBe(
      'cannot find the host "no-such.example": no such name (check the spelling, or give an IP address)',
    );
  });

  test.skipIf(!hasCommand("python3"))(
    "a SYN nobody answers (a full accept queue) ends at the connect timeout (needs Debian package python3)",
    async () => {
      // A listener with backlog 0 that never accepts: after one queued connection, the
      // kernel drops further SYNs, so a connect hangs the way it does to a dead host.
      const child = Bun.spawn(
        [
          "python3",
          "-c",
          "import socket,sys\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
        ],
        { stdin: "pipe", stdout: "pipe", stderr: "ignore" },
      );
      try {
        const reader = child.stdout.getReader();
        const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
        const first = await connectTo("127.0.0.1", port, 5_000);
        const error = await connectTo("127.0.0.1", port, 300).catch((caught) => caught);
        expect(await whyConnectFailed(error, "127.0.0.1", port)).toBe(silent(port, 0.3));
        // Run as a student: the sentence, then the exit, although the kernel still retries
        // the SYN for minutes (the lesson would hang there if it waited for it).
        const spawned = await runLesson(FILE, ["--port", String(port), "--timeout", "0.3"]);
        expect({ code: spawned.code, err: spawned.stderr.trim() }).toEqual({
          code: 1,
          err: silent(port, 0.3),
        });
        first.socket.end();
      } finally {
        child.kill();
        await child.exited;
      }
    },
    SLOW_TEST_MS,
  );

  test("run as a student: the practice server by default, both ends, --json, the errors", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    const started = /started 03-http-client\/10-practice-server\.ts on 127\.0\.0\.1:(\d+)/;
    const port = plain.stderr.match(started)?.[1];
    expect(port).toBeDefined();
    expect(plain.stdout).toMatch(
      new RegExp(`connected to 127\\.0\\.0\\.1 port ${port} in [\\d.]+ ms`),
    );
    expect(plain.stdout).toMatch(
      /our end: {3}127\.0\.0\.1:\d+ \(IPv4; the kernel picked the port\)/,
    );
    expect(plain.stdout).toContain(`their end: 127.0.0.1:${port}`);

    const server = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const json = await runLesson(FILE, ["--port", String(server.port), "--json"]);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ host: "127.0.0.1", port: server.port, practice: false });
    expect(report.remote).toEqual({ address: "127.0.0.1", port: server.port });
    expect(report.local.port).toBeGreaterThan(0);

    const closed = closedPort();
    const refusedRun = await runLesson(FILE, ["--host", "127.0.0.1", "--port", String(closed)]);
    expect({
      code: refusedRun.code,
      out: refusedRun.stdout,
      err: refusedRun.stderr.trim(),
    }).toEqual({
      code: 1,
      out: "",
      err: refused(closed),
    });
    for (const [args, sentence] of [
      [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
      [["--port", "http"], '--port must be a whole number from 1 to 65535 (got "http")'],
      [["--timeout", "0"], '--timeout must be a number of at least 0.01 (got "0")'],
      [["--host", "a b"], '--host must be a host name or an IP address (got "a b")'],
    ] as const) {
      const bad = await runLesson(FILE, [...args]);
      expect({ args, code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });

  test("a negative number is the flag's own sentence, not parseArgs' 'ambiguous'", async () => {
    const run = await runLesson(FILE, ["--timeout", "-1"]);
    expect({ code: run.code, first: run.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--timeout must be a number of at least 0.01 (got "-1")',
    });
  });

  test.skipIf(!privateNetwork)(
    "offline (a private network namespace): a name is lib's sentence, not a raw EAI_AGAIN (needs root for unshare)",
    async () => {
      const run = await runLesson(FILE, ["--host", "example.com"], { argvPrefix: PRIVATE_NETWORK });
      expect({ code: run.code, err: run.stderr.trim() }).toEqual({
        code: 1,
        err: 'could not look up "example.com": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts',
      });
    },
  );

  test("a malformed name is refused before any look-up: the flag's sentence, exit 2", async () => {
    const run = await runLesson(FILE, ["--host", "a..b"]);
    expect({ code: run.code, first: run.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: '--host must be a host name or an IP address (got "a..b")',
    });
  });
});
