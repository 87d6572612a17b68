/**
 * Chapter 01, lessons 07-connection-info and 08-diagnostics: the cases the chapter's review
 * added (tests/01-basics.scan.test.ts holds their main tests). A name with two addresses,
 * an offline resolver and a port taken on one family only, each told apart as it should be.
 *
 * Names with several addresses come from a hosts file of the test's own, seen only inside a
 * private network and mount namespace (tests/fixtures/private-hosts.ts); "no DNS" is asked
 * only inside a private network, where no query can leave the machine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { interfaceAddresses, interfaceLine } from "../01-basics/01-hostname.ts";
import { explain } from "../01-basics/07-connection-info.ts";
import { type Check, checkFree, describeCheck, parseTarget } from "../01-basics/08-diagnostics.ts";
import { canUsePrivateHosts, privateHosts } from "./fixtures/private-hosts.ts";
import { canUsePrivateNetwork, PRIVATE_NETWORK, ROOT, runLesson } from "./helpers.ts";

const INFO = "01-basics/07-connection-info.ts";
const DIAG = "01-basics/08-diagnostics.ts";
const PRIVATE = await canUsePrivateNetwork();
const PRIVATE_HOSTS = await canUsePrivateHosts();

/** A port nobody listens on, on `hostname`: we held it a moment ago and let it go. */
function closedPort(hostname = "127.0.0.1"): number {
  const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

let workDir = "";
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "sockets-lab-diagnostics-"));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe("07-connection-info: what the review added", () => {
  test("an empty --host is a usage error, not a message from Bun's internals", async () => {
    const { code, stdout, stderr } = await runLesson(INFO, ["--host", ""]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe("--host takes a name or an address, like 127.0.0.1 or ::1.");
    expect(stderr).toContain("usage: bun run 01-basics/07-connection-info.ts");
  });

  test("an IPv6 peer is written [::1]:PORT in the sentence, as in the table", async () => {
    const port = closedPort("::1");
    const { code, stderr } = await runLesson(INFO, ["--host", "::1", "--port", `${port}`]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `cannot connect to [::1]:${port}: connection refused: nothing listens on that port; start a server or check the port.\n`,
    );
  });

  test("explain tells an offline resolver (EAI_AGAIN) from an unknown name (ENOTFOUND)", () => {
    const offline = explain(Object.assign(new Error("getaddrinfo"), { code: "EAI_AGAIN" }));
    const unknown = explain(Object.assign(new Error("getaddrinfo"), { code: "ENOTFOUND" }));
    expect(offline).toBe(
      "no DNS server answered for that name: check your network, or give an IP address",
    );
    expect(unknown).toBe("unknown host: check the name, or give an IP address");
  });

  test.skipIf(!PRIVATE)(
    "spawned in a private network: a name that needs DNS is 'no DNS server answered', exit 1 (needs root, unshare)",
    async () => {
      const { code, stderr } = await runLesson(INFO, ["--host", "example.com", "--port", "80"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        "cannot connect to example.com:80: no DNS server answered for that name: check your network, or give an IP address.\n",
      );
    },
  );
});

describe("08-diagnostics: what the review added", () => {
  test("parseTarget refuses empty brackets, a name in brackets, spaces and control characters", () => {
    for (const bad of ["[]:80", "[vm]:80", "a b:80", "evil\u001b[31m:80", "[::1]x:80", " :80"]) {
      expect(() => parseTarget(bad)).toThrow(
        `${JSON.stringify(bad)} is not HOST:PORT (write IPv6 as [::1]:8080).`,
      );
    }
    expect(parseTarget("[fe80::1%eth0]:80")).toEqual({ host: "fe80::1%eth0", port: 80 });
    expect(parseTarget("vm.lab.test:80")).toEqual({ host: "vm.lab.test", port: 80 });
  });

  test("describeCheck names the addresses it tried for a name, not for an address", () => {
    const port = 5000; // only a number in a sentence: nothing is bound or connected here
    const check = (host: string, tried: string[]): Check => ({
      host,
      port,
      outcome: "refused",
      address: tried.at(-1) ?? null,
      tried,
      lookupMs: 0.2,
      connectMs: 0,
    });
    expect(describeCheck(check("localhost", ["::1", "127.0.0.1"]))).toBe(
      "localhost:5000 (tried ::1, 127.0.0.1) refused the connection: nothing listens on that port; start the server, or check it.",
    );
    expect(describeCheck(check("::1", ["::1"]))).toStartWith("[::1]:5000 refused the connection");
    expect(describeCheck({ ...check("nosuch.lab.test", []), outcome: "no DNS" })).toBe(
      "nosuch.lab.test:5000 was not looked up: no DNS server answered; check your network, or give an address.",
    );
  });

  test("checkFree: a port taken on one family only (::1 or 127.0.0.1) is in use", async () => {
    for (const hostname of ["::1", "127.0.0.1"]) {
      const listener = Bun.listen({ hostname, port: 0, socket: { data() {} } });
      try {
        expect({ hostname, use: checkFree(listener.port) }).toEqual({ hostname, use: "in use" });
      } finally {
        listener.stop(true);
      }
    }
  });

  test("checkFree asks about TCP: a port held by a UDP socket only is free for a TCP server", async () => {
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
    try {
      expect(checkFree(udp.port)).toBe("free");
    } finally {
      udp.close();
    }
  });

  test("a --timeout past 10 minutes is a usage error (Bun would fire a too-large timer at once)", async () => {
    const { code, stdout, stderr } = await runLesson(DIAG, ["--timeout", "1e12", "--free", "1"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe("--timeout takes at most 600000 ms (10 minutes).");
    expect(stderr).not.toContain("TimeoutOverflowWarning");
  });

  test("no flags: one line per interface address, the same lines lesson 01 prints", async () => {
    const all = await runLesson(DIAG);
    expect(all.code).toBe(0);
    const lines = all.stdout.split("\n").filter((line) => / IPv[46], /.test(line));
    expect(lines).toEqual(interfaceAddresses().map(interfaceLine));
  });

  test.skipIf(!PRIVATE)(
    "spawned in a private network: a name that needs DNS is 'no DNS', not 'unknown host' (needs root, unshare)",
    async () => {
      const { code, stdout } = await runLesson(DIAG, ["--check", "example.com:80", "--json"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      const { checks } = JSON.parse(stdout) as { checks: Check[] };
      expect(checks[0]).toMatchObject({ outcome: "no DNS", address: null, tried: [] });
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "a name on ::1 and 127.0.0.1 with a server on 127.0.0.1 only: tries both, connects (needs root, unshare)",
    async () => {
      // Runs inside the namespace: a listener on 127.0.0.1 only, then the checks, as JSON.
      const script = join(workDir, "two-addresses.ts");
      writeFileSync(
        script,
        `import { checkConnection, describeCheck } from ${JSON.stringify(join(ROOT, DIAG))};
const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const closing = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
closing.stop(true);
const open = await checkConnection("two.lab.test", listener.port);
const closed = await checkConnection("two.lab.test", closing.port);
listener.stop(true);
console.log(JSON.stringify({ open, closed, sentence: describeCheck(closed) }));
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
      const { open, closed, sentence } = JSON.parse(stdout) as {
        open: Check;
        closed: Check;
        sentence: string;
      };
      // The resolver gives ::1 first here; one address only would have said "refused".
      expect(open.tried).toEqual(["::1", "127.0.0.1"]);
      expect(open).toMatchObject({ outcome: "connected", address: "127.0.0.1" });
      expect(closed).toMatchObject({ outcome: "refused", tried: ["::1", "127.0.0.1"] });
      expect(sentence).toStartWith(
        `two.lab.test:${closed.port} (tried ::1, 127.0.0.1) refused the connection`,
      );
    },
  );
});
