// Chapter 01-basics, lessons 06-port-scan, 07-connection-info and 08-diagnostics: the
// lessons that open TCP connections. Every port they touch on the shared loopback is one
// this file opened (or opened and closed again); the whole-range scan and the forced TCP
// self-connect run inside a private network namespace (`unshare -n`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePorts, scanPorts, tcpServiceNames } from "../01-basics/06-port-scan.ts";
import { Answer, DONE, isSelfConnect, NEXT, probePorts } from "../01-basics/scan-worker.ts";
import { bothViews, clientView, explain, type View } from "../01-basics/07-connection-info.ts";
import {
  type Check,
  checkConnection,
  checkFree,
  describeCheck,
  parsePort,
  parseTarget,
} from "../01-basics/08-diagnostics.ts";
import {
  canUsePrivateNetwork,
  hasCommand,
  PRIVATE_NETWORK,
  runLesson,
  startLesson,
} from "./helpers.ts";
import { silentPort } from "./fixtures/silent-port.ts";

type ScanReport = Awaited<ReturnType<typeof scanPorts>>;

const SCAN = "01-basics/06-port-scan.ts";
const NOT_WHOLE = "--concurrency, --timeout and --workers take whole numbers of 1 or more.";
const INFO = "01-basics/07-connection-info.ts";
const DIAG = "01-basics/08-diagnostics.ts";
const privateNetwork = await canUsePrivateNetwork();
const python = hasCommand("python3");

/** A listener of our own on loopback, port 0; `await using` stops it. */
function listen(hostname = "127.0.0.1"): TCPSocketListener<undefined> & AsyncDisposable {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  return Object.assign(listener, { [Symbol.asyncDispose]: async () => listener.stop(true) });
}

/** A port nobody listens on: we held it a moment ago and let it go. */
function closedPort(hostname = "127.0.0.1"): number {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

// Runs inside the private namespace: listens on N ports of its own (port 0), says which on
// stderr, then runs the command after N (the lesson) and exits with its exit code.
let workDir = "";
let listenThenRun = "";
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "scan-test-"));
  listenThenRun = join(workDir, "listen-then-run.ts");
  writeFileSync(
    listenThenRun,
    `const listeners = Array.from({ length: Number(process.argv[2]) }, () =>
  Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
console.error("listeners: " + listeners.map((listener) => listener.port).join(","));
const child = Bun.spawn(process.argv.slice(3), { stdout: "inherit", stderr: "inherit" });
process.exit(await child.exited);
`,
  );
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe("06-port-scan: the port list", () => {
  test("parsePorts takes ports and ranges, sorts them and drops repeats", () => {
    expect(parsePorts("80,22,8000-8003,22,8002")).toEqual([22, 80, 8000, 8001, 8002, 8003]);
    expect(parsePorts("1-1024")).toHaveLength(1024);
    expect(parsePorts("65535")).toEqual([65535]);
    expect(parsePorts(" 7 , 9 ")).toEqual([7, 9]);
  });

  test.each([
    ["1-x", `"1-x" is not a port or a range: write e.g. 22,80,8000-8100.`],
    ["70000", "port 70000 is out of range: use 1 to 65535."],
    ["0", "port 0 is out of range: use 1 to 65535."],
    ["100-1", "range 100-1 runs backwards: write 1-100."],
    ["80,", `"" is not a port or a range: write e.g. 22,80,8000-8100.`],
  ])("parsePorts(%p) throws one sentence", (spec, sentence) => {
    expect(() => parsePorts(spec)).toThrow(sentence);
  });

  test("tcpServiceNames reads name and port per line, first name wins, tcp only", () => {
    const file = join(workDir, "services");
    writeFileSync(
      file,
      "# comment\nssh\t\t22/tcp\t# SSH\nhttp 80/tcp www\nwww-alt 80/tcp\nntp 123/udp\n",
    );
    const names = tcpServiceNames(file);
    expect([...names.entries()].sort()).toEqual([
      [22, "ssh"],
      [80, "http"],
    ]);
    expect(tcpServiceNames(join(workDir, "no-such-file")).size).toBe(0);
  });
});

describe("06-port-scan: the TCP self-connect", () => {
  test("isSelfConnect is true only when both ends are the same address and port", () => {
    const ends = (localPort: number, remoteAddress: string) => ({
      localAddress: "127.0.0.1",
      localPort,
      remoteAddress,
      remotePort: 40000,
    });
    expect(isSelfConnect(ends(40000, "127.0.0.1"))).toBe(true);
    expect(isSelfConnect(ends(40001, "127.0.0.1"))).toBe(false);
    expect(isSelfConnect(ends(40000, "127.0.0.2"))).toBe(false);
  });

  test("isSelfConnect is false for a real connection to a listener of ours", async () => {
    await using listener = listen();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: listener.port,
      socket: { data() {} },
    });
    expect(isSelfConnect(socket)).toBe(false);
    socket.end();
  });

  test.skipIf(!privateNetwork).each([["1"], ["2"]])(
    "a forced self-connect is counted as closed, never open, with --workers %s (needs a private network namespace: root, unshare, ip)",
    async (workers) => {
      // With one ephemeral port, the kernel must pick the target port as the source port.
      // One worker: the main thread connects; two: the port goes to a Worker thread.
      const onePort = 'echo "40000 40000" > /proc/sys/net/ipv4/ip_local_port_range && exec "$@"';
      const args = ["127.0.0.1", "--ports", "40000", "--workers", workers, "--json"];
      const { code, stdout } = await runLesson(SCAN, args, {
        argvPrefix: [...PRIVATE_NETWORK, "sh", "-c", onePort, "sh"],
      });
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as ScanReport;
      expect(report.open).toEqual([]);
      expect(report.closed).toBe(1);
      expect(report.selfConnects).toBe(1);
    },
  );
});

describe("06-port-scan in-process", () => {
  test.each([[1], [2]])(
    "finds exactly the listeners we started among ports we closed ourselves (workers: %d)",
    async (workers) => {
      await using first = listen();
      await using second = listen();
      const closed = [closedPort(), closedPort()];
      const ports = [first.port, second.port, ...closed].sort((a, b) => a - b);
      const options = { concurrency: 2, timeoutMs: 5000, workers };
      const report = await scanPorts("127.0.0.1", ports, options);
      expect(report.open.map(({ port }) => port)).toEqual(
        [first.port, second.port].sort((a, b) => a - b),
      );
      expect(report.closed).toBe(2);
      expect(report.filtered).toEqual([]);
      expect(report.selfConnects).toBe(0);
      expect(report.address).toBe("127.0.0.1");
      const names = tcpServiceNames();
      for (const { port, service } of report.open) expect(service).toBe(names.get(port) ?? null);
    },
  );

  test("two probe loops on one shared queue take each port exactly once", async () => {
    await using listener = listen();
    const closed = Array.from({ length: 10 }, () => closedPort());
    const ports = [listener.port, ...closed];
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    const job = {
      hostname: "127.0.0.1",
      ports: new Uint16Array(shared(2 * ports.length)),
      state: new Uint8Array(shared(ports.length)),
      counters: new Int32Array(shared(8)),
      timeoutMs: 5000,
    };
    job.ports.set(ports);
    await Promise.all([
      probePorts({ ...job, concurrency: 3 }),
      probePorts({ ...job, concurrency: 2 }),
    ]);
    expect(job.counters[DONE]).toBe(ports.length); // each port answered once, by one loop
    expect(job.counters[NEXT]).toBeGreaterThanOrEqual(ports.length); // the queue is empty
    expect(job.state[0]).toBe(Answer.OPEN);
    expect([...job.state.slice(1)]).toEqual(closed.map(() => Answer.CLOSED));
  });

  test("scans IPv6 loopback too", async () => {
    await using listener = listen("::1");
    const report = await scanPorts("::1", [listener.port, closedPort("::1")]);
    expect(report.open.map(({ port }) => port)).toEqual([listener.port]);
    expect(report.closed).toBe(1);
  });

  test("an unknown host rejects with the resolver's error, before any connect", async () => {
    // Two dots: the resolver refuses the name itself, no DNS query leaves the machine.
    const error = await scanPorts("no-such-host..invalid", [80]).catch((reason: unknown) => reason);
    expect((error as NodeJS.ErrnoException).code).toBe("ENOTFOUND");
  });

  test.skipIf(!python)(
    "a port that never answers is filtered after the timeout (needs Debian package python3)",
    async () => {
      await using silent = await silentPort();
      await using open = listen();
      const progress: number[] = [];
      const report = await scanPorts("127.0.0.1", [silent.port, open.port], {
        timeoutMs: 400,
        onProgress: (done) => progress.push(done),
      });
      expect(report.filtered).toEqual([silent.port]);
      expect(report.open.map(({ port }) => port)).toEqual([open.port]);
      expect(progress.length).toBeGreaterThan(0); // the sweep reported while it waited
    },
  );

  test.skipIf(!python).each([[1], [2]])(
    "never more than `concurrency` connects in flight in all (workers: %d): 10 silent ports, 3 at a time, 4 rounds (needs Debian package python3)",
    async (workers) => {
      await using silent = await silentPort();
      const ports = Array.from({ length: 10 }, () => silent.port);
      const options = { concurrency: 3, timeoutMs: 300, workers };
      const report = await scanPorts("127.0.0.1", ports, options);
      expect(report.filtered).toHaveLength(10);
      // Each round of 3 waits out the whole timeout before the next may start: 3+3+3+1.
      expect(report.elapsedMs).toBeGreaterThanOrEqual(4 * 300);
    },
  );
});

describe("06-port-scan as a student runs it", () => {
  test("--json prints one document: open ports with service names, closed counted", async () => {
    await using listener = listen();
    const closed = closedPort();
    const { code, stdout, stderr } = await runLesson(SCAN, [
      "127.0.0.1",
      "--ports",
      `${closed},${listener.port}`,
      "--json",
    ]);
    expect(stderr).toBe(""); // no progress line: stderr is not a terminal here
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as ScanReport;
    expect(report.open.map(({ port }) => port)).toEqual([listener.port]);
    expect(report.closed).toBe(1);
  });

  test("text output lists each open port and the totals", async () => {
    await using listener = listen();
    const { code, stdout } = await runLesson(SCAN, ["localhost", "--ports", `${listener.port}`]);
    expect(code).toBe(0);
    expect(stdout).toContain("localhost (127.0.0.1): 1 TCP ports in ");
    expect(stdout).toMatch(new RegExp(`^  ${listener.port}/tcp\\topen\\t`, "m"));
    expect(stdout).toContain("1 open, 0 closed, 0 filtered\n");
  });

  test("--help prints usage and exits 0", async () => {
    const { code, stdout } = await runLesson(SCAN, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("usage: bun run 01-basics/06-port-scan.ts [HOST]");
    expect(stdout).toContain("--workers N ");
  });

  test.each([
    [["--ports", "1-x"], `"1-x" is not a port or a range: write e.g. 22,80,8000-8100.`],
    [["--ports", "70000"], "port 70000 is out of range: use 1 to 65535."],
    [["--ports", "0"], "port 0 is out of range: use 1 to 65535."],
    [["--ports", "100-1"], "range 100-1 runs backwards: write 1-100."],
    [["--concurrency", "0"], NOT_WHOLE],
    [["--concurrency", "1.5"], NOT_WHOLE],
    [["--timeout", "soon"], NOT_WHOLE],
    [["--workers", "0"], NOT_WHOLE],
    [["127.0.0.1", "::1"], "give one host to scan, not 2."],
  ])("bad arguments %p: one sentence, the usage, exit 2", async (args, sentence) => {
    const { code, stdout, stderr } = await runLesson(SCAN, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe(sentence);
    expect(stderr).toContain("usage: bun run 01-basics/06-port-scan.ts");
  });

  test.skipIf(!privateNetwork).each([["1"], ["2"]])(
    "no socket to be had (open-files limit): one sentence, exit 1, never a port called closed, --workers %s (needs a private network namespace: root, unshare, ip)",
    async (workers) => {
      // Bun fails such a connect before it returns, and calls it ECONNREFUSED: not an answer.
      const fewFiles = 'ulimit -n 40 && exec "$@"';
      const args = ["--ports", "1-2000", "--concurrency", "200", "--workers", workers, "--json"];
      const { code, stdout, stderr } = await runLesson(SCAN, args, {
        argvPrefix: [...PRIVATE_NETWORK, "sh", "-c", fewFiles, "sh"],
      });
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toBe(
        "the scan failed: could not open a socket: give a smaller --concurrency, or raise ulimit -n.\n",
      );
    },
  );

  test("an unknown host: one sentence, exit 1", async () => {
    const { code, stderr } = await runLesson(SCAN, ["no-such-host..invalid", "--ports", "80"]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `cannot resolve "no-such-host..invalid": check the name, or give an IP address.\n`,
    );
  });

  test.skipIf(!privateNetwork)(
    "all 65535 ports: exactly the listeners started there (needs a private network namespace: root, unshare, ip)",
    async () => {
      await using scan = startLesson(SCAN, ["127.0.0.1", "--ports", "1-65535", "--json"], {
        argvPrefix: [...PRIVATE_NETWORK, "bun", "run", listenThenRun, "3"],
      });
      const [, ports = ""] = await scan.waitFor(/listeners: ([\d,]+)/, { stream: "stderr" });
      const { code, stdout } = await scan.finished(60_000);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as ScanReport;
      const listening = ports
        .split(",")
        .map(Number)
        .sort((a, b) => a - b);
      expect(listening).toHaveLength(3);
      expect(report.open.map(({ port }) => port)).toEqual(listening);
      expect(report.closed).toBe(65535 - 3);
      expect(report.filtered).toEqual([]);
    },
    90_000,
  );
});

describe("07-connection-info in-process", () => {
  const mirrored = ({ client, server }: { client: View; server: View }): void => {
    expect(client.local).toEqual(server.peer);
    expect(client.peer).toEqual(server.local);
  };

  test("bothViews on 127.0.0.1: each side's local end is the other's peer", async () => {
    const views = await bothViews("127.0.0.1");
    mirrored(views);
    expect(views.client.local.family).toBe("IPv4");
    expect(views.client.peer.address).toBe("127.0.0.1");
    expect(views.client.local.port).not.toBe(views.client.peer.port);
  });

  test("bothViews on ::1 reports IPv6 on both ends", async () => {
    const views = await bothViews("::1");
    mirrored(views);
    expect(views.server.local).toMatchObject({ address: "::1", family: "IPv6" });
    expect(views.client.local.family).toBe("IPv6");
  });

  test("clientView of a listener of ours: the peer is the listener's port", async () => {
    await using listener = listen();
    const view = await clientView("127.0.0.1", listener.port);
    expect(view.peer).toEqual({ address: "127.0.0.1", port: listener.port, family: "IPv4" });
    expect(view.local.address).toBe("127.0.0.1");
  });

  test("clientView of a closed port rejects as refused, and explain says so", async () => {
    const error = await clientView("127.0.0.1", closedPort()).catch((reason: Error) => reason);
    expect(error).toBeInstanceOf(Error);
    expect(explain(error as Error)).toBe(
      "connection refused: nothing listens on that port; start a server or check the port",
    );
  });

  test.skipIf(!python)(
    "clientView of a silent port gives up at the timeout (needs Debian package python3)",
    async () => {
      await using silent = await silentPort();
      await expect(clientView("127.0.0.1", silent.port, 300)).rejects.toThrow(
        "no answer within 300 ms",
      );
    },
  );
});

describe("07-connection-info as a student runs it", () => {
  test("no arguments: its own listener, the connection seen from both ends", async () => {
    const { code, stdout } = await runLesson(INFO);
    expect(code).toBe(0);
    const client = stdout.match(/client sees\s+127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s+IPv4/);
    const server = stdout.match(/server sees\s+127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s+IPv4/);
    expect(client?.[1]).toBe(server?.[2]);
    expect(client?.[2]).toBe(server?.[1]);
  });

  test("--host ::1 --json: both views, IPv6, one JSON document", async () => {
    const { code, stdout } = await runLesson(INFO, ["--host", "::1", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { client: View; server: View };
    expect(report.client.local).toEqual(report.server.peer);
    expect(report.server.local.family).toBe("IPv6");
    expect(stdout.trim().startsWith("{")).toBe(true);
  });

  test("--port connects to a server of ours and shows only the client's end", async () => {
    await using listener = listen();
    const { code, stdout } = await runLesson(INFO, ["--port", `${listener.port}`, "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { client: View; server: null };
    expect(report.server).toBeNull();
    expect(report.client.peer.port).toBe(listener.port);
  });

  test("a refused connection: one sentence, exit 1", async () => {
    const port = closedPort();
    const { code, stdout, stderr } = await runLesson(INFO, ["--port", `${port}`]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `cannot connect to 127.0.0.1:${port}: connection refused: nothing listens on that port; start a server or check the port.\n`,
    );
  });

  test("an unknown host: one sentence, exit 1", async () => {
    const { code, stderr } = await runLesson(INFO, [
      "--host",
      "no-such-host..invalid",
      "--port",
      "80",
    ]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      "cannot connect to no-such-host..invalid:80: unknown host: check the name, or give an IP address.\n",
    );
  });

  test.each([["0"], ["70000"], ["http"]])(
    "--port %p: one sentence, the usage, exit 2",
    async (port) => {
      const { code, stderr } = await runLesson(INFO, ["--port", port]);
      expect(code).toBe(2);
      expect(stderr.split("\n")[0]).toBe(`--port takes a number from 1 to 65535, not "${port}".`);
      expect(stderr).toContain("usage: bun run 01-basics/07-connection-info.ts");
    },
  );

  test("--help prints usage and exits 0", async () => {
    const { code, stdout } = await runLesson(INFO, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("usage: bun run 01-basics/07-connection-info.ts");
  });
});

describe("08-diagnostics in-process", () => {
  test("parseTarget reads HOST:PORT, and [IPv6]:PORT", () => {
    expect(parseTarget("example.test:80")).toEqual({ host: "example.test", port: 80 });
    expect(parseTarget("[::1]:7")).toEqual({ host: "::1", port: 7 });
    expect(() => parseTarget("::1:7")).toThrow(
      `"::1:7" is not HOST:PORT (write IPv6 as [::1]:8080).`,
    );
    expect(() => parseTarget("host")).toThrow(`"host" is not HOST:PORT`);
    expect(() => parseTarget("host:0")).toThrow(
      `"0" is not a port: give a number from 1 to 65535.`,
    );
    expect(() => parsePort("65536")).toThrow(`"65536" is not a port`);
  });

  test("checkConnection to a listener of ours: connected, with the times", async () => {
    await using listener = listen();
    const check = await checkConnection("localhost", listener.port);
    expect(check).toMatchObject({
      outcome: "connected",
      address: "127.0.0.1",
      port: listener.port,
    });
    expect(check.connectMs).toBeGreaterThan(0);
    expect(check.lookupMs).toBeGreaterThanOrEqual(0);
    expect(describeCheck(check)).toMatch(
      new RegExp(
        `^localhost:${listener.port} answers: connected in \\d+\\.\\d ms \\(name look-up \\d+\\.\\d ms\\)\\.$`,
      ),
    );
  });

  test("refused, unknown host and unreachable are told apart", async () => {
    const refused = await checkConnection("::1", closedPort("::1"));
    expect(refused.outcome).toBe("refused");
    expect(describeCheck(refused)).toBe(
      `[::1]:${refused.port} refused the connection: nothing listens on that port; start the server, or check it.`,
    );
    const unknown = await checkConnection("no-such-host..invalid", 80);
    expect(unknown).toMatchObject({ outcome: "unknown host", address: null });
    expect(describeCheck(unknown)).toBe(
      "no-such-host..invalid:80 is not a name the resolver knows: check the spelling, or give an address.",
    );
  });

  test.skipIf(!python)("a silent port times out (needs Debian package python3)", async () => {
    await using silent = await silentPort();
    const check: Check = await checkConnection("127.0.0.1", silent.port, 300);
    expect(check.outcome).toBe("timed out");
    expect(describeCheck(check)).toBe(
      `127.0.0.1:${silent.port} did not answer in time: the host may be down, or a firewall drops packets.`,
    );
  });

  test("checkFree: a port we hold is in use, a port we let go is free", async () => {
    await using held = listen();
    expect(checkFree(held.port)).toBe("in use");
    expect(checkFree(closedPort())).toBe("free");
  });
});

describe("08-diagnostics as a student runs it", () => {
  test("no flags: this machine's addresses and whether port 5000 is free", async () => {
    // Inside a private namespace port 5000 is surely free; outside we only read the answer.
    const options = privateNetwork ? { argvPrefix: PRIVATE_NETWORK } : {};
    const { code, stdout } = await runLesson(DIAG, [], options);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^addresses on this machine \(\d+\):$/m);
    expect(stdout).toMatch(/^ {2}lo\s+127\.0\.0\.1\/8\s+IPv4, loopback: this machine only$/m);
    expect(stdout).toMatch(privateNetwork ? /^port 5000 is free: /m : /^port 5000 is /m);
  });

  test("--check a listener of ours and --free its port: connected, in use, exit 1", async () => {
    await using listener = listen();
    const { code, stdout, stderr } = await runLesson(DIAG, [
      "--check",
      `127.0.0.1:${listener.port}`,
      "--free",
      `${listener.port}`,
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${listener.port} answers: connected in `));
    expect(stderr).toBe(
      `port ${listener.port} is in use by another program: stop it, or give your server --port 0.\n`,
    );
  });

  test("--check a closed port: refused on stderr, exit 1; --free of it: free", async () => {
    const port = closedPort();
    const { code, stdout, stderr } = await runLesson(DIAG, ["--check", `127.0.0.1:${port}`]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `127.0.0.1:${port} refused the connection: nothing listens on that port; start the server, or check it.\n`,
    );
    const free = await runLesson(DIAG, ["--free", `${port}`, "--json"]);
    expect(free.code).toBe(0);
    expect(JSON.parse(free.stdout)).toEqual({
      interfaces: [],
      checks: [],
      ports: [{ port, use: "free" }],
    });
  });

  test("--json with an unknown host: the outcome in the document, exit 1", async () => {
    const { code, stdout } = await runLesson(DIAG, [
      "--check",
      "no-such-host..invalid:80",
      "--json",
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { checks: Check[] };
    expect(report.checks[0]?.outcome).toBe("unknown host");
  });

  test.each([
    [["--check", "nohost"], `"nohost" is not HOST:PORT (write IPv6 as [::1]:8080).`],
    [["--check", "host:99999"], `"99999" is not a port: give a number from 1 to 65535.`],
    [["--free", "0"], `"0" is not a port: give a number from 1 to 65535.`],
    [["--timeout", "0"], "--timeout takes milliseconds (1 or more)."],
  ])("bad arguments %p: one sentence, the usage, exit 2", async (args, sentence) => {
    const { code, stderr } = await runLesson(DIAG, args);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe(sentence);
    expect(stderr).toContain("usage: bun run 01-basics/08-diagnostics.ts");
  });

  test("--help prints usage and exits 0", async () => {
    const { code, stdout } = await runLesson(DIAG, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("usage: bun run 01-basics/08-diagnostics.ts");
  });
});
