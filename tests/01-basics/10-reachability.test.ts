// Lesson 01-basics/10-reachability.ts: does HOST:PORT answer, how fast, and if not, why not.
// Every connection goes to a listener the test opened on loopback, or to a port it opened and
// closed again; names, routes and the default target (localhost:5000) are tried only inside a
// private network namespace, where nothing else listens and no packet leaves.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConnection, parseTarget } from "../../01-basics/10-reachability.ts";
import { canUsePrivateHosts, privateHosts } from "../fixtures/private-hosts.ts";
import { silentPort } from "../fixtures/silent-port.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  expectHelpMatchesRun,
  expectUsageError,
  hasCommand,
  PRIVATE_NETWORK,
  ROOT,
  runLesson,
} from "../helpers.ts";
import { listen } from "./common.ts";

const LESSON = "01-basics/10-reachability.ts";
type Check = Awaited<ReturnType<typeof checkConnection>>;
const PRIVATE = await canUsePrivateNetwork();
const PRIVATE_HOSTS = await canUsePrivateHosts();
const PYTHON = hasCommand("python3");
const REFUSED = (where: string): string =>
  `${where} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`;
const NO_SUCH = `cannot find the host "no-such-host..invalid": no such name (check the spelling, or give an IP address)`;

let workDir = "";
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "sockets-lab-reachability-"));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe("10-reachability in-process", () => {
  test("parseTarget reads HOST:PORT, and [IPv6]:PORT", () => {
    expect(parseTarget("example.test:80")).toEqual({ host: "example.test", port: 80 });
    expect(parseTarget("[::1]:7")).toEqual({ host: "::1", port: 7 });
    expect(parseTarget("[fe80::1%eth0]:80")).toEqual({ host: "fe80::1%eth0", port: 80 });
    expect(() => parseTarget("::1:7")).toThrow(
      `"::1:7" is not HOST:PORT (write IPv6 as [::1]:8080).`,
    );
    expect(() => parseTarget("host")).toThrow(`"host" is not HOST:PORT`);
    expect(() => parseTarget("host:0")).toThrow(
      `"0" is not a port: give a number from 1 to 65535.`,
    );
    expect(() => parseTarget("host:65536")).toThrow(`"65536" is not a port`);
  });

  test("parseTarget refuses empty brackets, a name in brackets, spaces and control characters", () => {
    for (const bad of ["[]:80", "[vm]:80", "a b:80", "evil\u001b[31m:80", "[::1]x:80", " :80"]) {
      expect(() => parseTarget(bad)).toThrow(
        `${JSON.stringify(bad)} is not HOST:PORT (write IPv6 as [::1]:8080).`,
      );
    }
    expect(parseTarget("vm.lab.test:80")).toEqual({ host: "vm.lab.test", port: 80 });
  });

  test("checkConnection to a listener of ours: connected, with the times", async () => {
    await using listener = listen();
    const check = await checkConnection("localhost", listener.port);
    expect(check).toMatchObject({ answered: true, tried: ["127.0.0.1"], port: listener.port });
    expect(check.connectMs).toBeGreaterThan(0);
    expect(check.lookupMs).toBeGreaterThanOrEqual(0);
    // Times in the JSON are rounded to the microsecond.
    expect(check.connectMs).toBe(Math.round(check.connectMs * 1000) / 1000);
    expect(check.said).toMatch(
      new RegExp(
        `^localhost:${listener.port} answers: connected in [\\d.]+ ms \\(name look-up [\\d.]+ ms\\)$`,
      ),
    );
  });

  test("refused and an unknown host are told apart, each with lib's sentence", async () => {
    const port = closedPort("::1");
    const refused = await checkConnection("::1", port);
    expect(refused).toMatchObject({ answered: false, tried: ["::1"] });
    expect(refused.said).toBe(REFUSED(`[::1]:${port}`));
    const unknown = await checkConnection("no-such-host..invalid", 80);
    expect(unknown).toMatchObject({ answered: false, tried: [], said: NO_SUCH });
  });

  test.skipIf(!PYTHON)("a silent port times out (needs Debian package python3)", async () => {
    await using silent = await silentPort();
    const check: Check = await checkConnection("127.0.0.1", silent.port, 300);
    expect(check.answered).toBe(false);
    expect(check.said).toBe(
      `127.0.0.1:${silent.port} (tcp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    );
  });

  test.skipIf(!PRIVATE_HOSTS)(
    "a name on ::1 and 127.0.0.1 with a server on 127.0.0.1 only: tries both, connects (needs root, unshare)",
    async () => {
      // Runs inside the namespace: a listener on 127.0.0.1 only, then the checks, as JSON.
      const script = join(workDir, "two-addresses.ts");
      writeFileSync(
        script,
        `import { checkConnection } from ${JSON.stringify(join(ROOT, LESSON))};
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
closing.stop(true);
const open = await checkConnection("two.lab.test", listener.port);
const closed = await checkConnection("two.lab.test", closing.port);
listener.stop(true);
console.log(JSON.stringify({ open, closed }));
`,
      );
      await using hosts = privateHosts(["::1 two.lab.test", "127.0.0.1 two.lab.test"]);
      await using child = Bun.spawn([...hosts.argvPrefix, "bun", script], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const { open, closed } = JSON.parse(stdout) as { open: Check; closed: Check };
      // The resolver gives ::1 first here; one address only would have said "refused".
      expect(open).toMatchObject({ answered: true, tried: ["::1", "127.0.0.1"] });
      expect(closed).toMatchObject({ answered: false, tried: ["::1", "127.0.0.1"] });
      expect(closed.said).toBe(
        `two.lab.test:${closed.port} (tried ::1, 127.0.0.1): ${REFUSED(`127.0.0.1:${closed.port}`)}`,
      );
    },
  );
});

describe("10-reachability as a student runs it", () => {
  test("a listener of ours and a closed port: answers on stdout, refused on stderr, exit 1", async () => {
    await using listener = listen();
    const port = closedPort();
    const args = ["--check", `127.0.0.1:${listener.port}`, "--check", `127.0.0.1:${port}`];
    const { code, stdout, stderr } = await runLesson(LESSON, args);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${listener.port} answers: connected in `));
    expect(stderr).toBe(`${REFUSED(`127.0.0.1:${port}`)}\n`);
    const answered = await runLesson(LESSON, ["--check", `127.0.0.1:${listener.port}`]);
    expect(answered.code).toBe(0);
  });

  test("--json with an unknown host: the check in the document, exit 1", async () => {
    const { code, stdout } = await runLesson(LESSON, [
      "--check",
      "no-such-host..invalid:80",
      "--json",
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { checks: Check[] };
    expect(report.checks).toEqual([
      {
        host: "no-such-host..invalid",
        port: 80,
        tried: [],
        answered: false,
        said: NO_SUCH,
        lookupMs: expect.any(Number),
        connectMs: 0,
      },
    ]);
  });

  test.skipIf(!PRIVATE)(
    "no --check: localhost:5000, the labs' port, here refused (needs root, unshare, ip)",
    async () => {
      // Inside a private namespace nothing listens on port 5000.
      const { code, stdout, stderr } = await runLesson(LESSON, [], { argvPrefix: PRIVATE_NETWORK });
      expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
      expect(stderr).toStartWith("localhost:5000 (tried ");
      expect(stderr).toEndWith(`${REFUSED("127.0.0.1:5000")}\n`);
    },
  );

  test.skipIf(!PRIVATE)(
    "in a private network: a name that needs DNS is 'no DNS server answered', not 'cannot find' (needs root, unshare)",
    async () => {
      const { code, stdout } = await runLesson(LESSON, ["--check", "example.com:80", "--json"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      const { checks } = JSON.parse(stdout) as { checks: Check[] };
      expect(checks[0]).toMatchObject({
        answered: false,
        tried: [],
        said: `could not look up "example.com": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`,
      });
    },
  );

  test.skipIf(!PRIVATE)(
    "in a private network: no route to the host is said so, not 'refused' (needs root, unshare, ip)",
    async () => {
      const { code, stderr } = await runLesson(LESSON, ["--check", "10.1.2.3:80"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        "no route to 10.1.2.3: this machine has no network path there (check the address, or your network)\n",
      );
    },
  );

  test.each([
    [["--check", "nohost"], `"nohost" is not HOST:PORT (write IPv6 as [::1]:8080).`],
    [["--check", "host:99999"], `"99999" is not a port: give a number from 1 to 65535.`],
    [["--check"], "--check needs a value"],
    [["--timeout", "0"], '--timeout must be a whole number from 1 to 600000 (got "0")'],
    // Past 10 minutes Bun would fire the timer at once (a TimeoutOverflowWarning).
    [["--timeout", "1e12"], '--timeout must be a whole number from 1 to 600000 (got "1e12")'],
    // Defect: parseArgs took "-5" for a flag and printed three lines about an ambiguous option.
    [["--timeout", "-5"], '--timeout must be a whole number from 1 to 600000 (got "-5")'],
  ])("bad arguments %p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(LESSON, args, sentence);
  });

  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });
});
