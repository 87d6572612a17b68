// Lesson 01-basics/01-hostname.ts: this machine's name, what it resolves to, its addresses.
//
// The lesson looks up this machine's own name. That stays on the machine only when the name
// is in /etc/hosts; otherwise the spawned runs go inside a private network namespace, where
// a DNS query cannot leave, and the in-process look-up is skipped.
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import {
  describeHost,
  type HostReport,
  interfaceAddresses,
  interfaceLine,
} from "../../01-basics/01-hostname.ts";
import { canUsePrivateHosts, privateDns, privateHosts } from "../fixtures/private-hosts.ts";
import {
  canUsePrivateNetwork,
  expectHelpMatchesRun,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
} from "../helpers.ts";
import { hostsFile } from "./common.ts";

const LESSON = "01-basics/01-hostname.ts";
const names = [...hostsFile().values()].flat();
const NAME_IN_HOSTS = names.includes(hostname());
const HAS_LOCALHOST = names.includes("localhost");
const PRIVATE_HOSTS = await canUsePrivateHosts();
/** How to spawn the lesson so that its look-up of this machine's name stays on the machine. */
const spawnOptions = NAME_IN_HOSTS
  ? {}
  : (await canUsePrivateNetwork())
    ? { argvPrefix: PRIVATE_NETWORK }
    : null;

describe("01-hostname in-process", () => {
  test("interfaceAddresses lists every address of os.networkInterfaces, loopback marked internal", () => {
    const addresses = interfaceAddresses();
    expect(addresses.find((entry) => entry.address === "127.0.0.1")).toEqual({
      interface: "lo",
      address: "127.0.0.1",
      family: "IPv4",
      internal: true,
      cidr: "127.0.0.1/8",
    });
    expect(addresses.every((entry) => entry.family === "IPv4" || entry.family === "IPv6")).toBe(
      true,
    );
  });

  test("interfaceLine says who can reach an address: loopback, link-local, or the network", () => {
    const line = (address: string, cidr: string, internal = false): string =>
      interfaceLine({ interface: "eth0", address, cidr, internal, family: "IPv6" });
    expect(line("::1", "::1/128", true)).toEndWith("IPv6, loopback: this machine only");
    expect(line("fe80::1", "fe80::1/64")).toEndWith("link-local: this network segment only");
    expect(line("169.254.3.4", "169.254.3.4/16")).toContain("link-local");
    expect(line("2001:db8::1", "2001:db8::1/64")).toEndWith("other machines may reach it");
    expect(line("fe90::1", "fe90::1/64")).toEndWith("other machines may reach it");
    expect(line("fd00::2", "fd00::2/64")).toMatch(/^ {2}eth0 +fd00::2\/64 +IPv6, /);
  });

  test.skipIf(!NAME_IN_HOSTS)(
    "describeHost names this machine and resolves it from /etc/hosts (needs the name there)",
    async () => {
      const report = await describeHost();
      expect(report.hostname).toBe(hostname());
      expect(report.resolveError).toBeNull();
      expect(report.resolved.length).toBeGreaterThan(0);
      expect(report.interfaces).toEqual(interfaceAddresses());
    },
  );

  test.skipIf(!HAS_LOCALHOST)("describeHost('localhost') answers from /etc/hosts", async () => {
    const report = await describeHost("localhost");
    expect(report.hostname).toBe("localhost");
    expect(report.resolved.map((entry) => entry.address)).toContain("127.0.0.1");
    expect(report.resolved.every((entry) => entry.family === 4 || entry.family === 6)).toBe(true);
  });
});

describe("01-hostname as a student runs it", () => {
  test.skipIf(spawnOptions === null)(
    "prints the host name, what it resolves to, and one line per interface address",
    async () => {
      const { code, stdout, stderr } = await runLesson(LESSON, [], spawnOptions ?? {});
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toStartWith(`host name: ${hostname()}\n`);
      expect(stdout).toMatch(/^ {2}(resolves to: \S|could not look up |cannot find the host )/m);
      expect(stdout).toMatch(/^ {2}lo +127\.0\.0\.1\/8 +IPv4, loopback: this machine only$/m);
      const count = Number(
        stdout.match(/^addresses on this machine's interfaces \((\d+)\):$/m)?.[1],
      );
      const lines = stdout.split("\n").filter((line) => / IPv[46], /.test(line));
      expect(lines).toHaveLength(count);
      // Outside a private namespace the lesson saw the same interfaces as this test.
      if (!spawnOptions?.argvPrefix) expect(lines).toEqual(interfaceAddresses().map(interfaceLine));
    },
  );

  test.skipIf(spawnOptions === null)(
    "--json prints one JSON document with the same facts",
    async () => {
      const { code, stdout } = await runLesson(LESSON, ["--json"], spawnOptions ?? {});
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as HostReport;
      expect(report.hostname).toBe(hostname());
      expect(report.resolved.length > 0).toBe(report.resolveError === null);
      expect(report.interfaces).toContainEqual({
        interface: "lo",
        address: "::1",
        family: "IPv6",
        cidr: "::1/128",
        internal: true,
      });
    },
  );

  // The name missing from /etc/hosts: the resolver asks DNS. Two different failures, each
  // worded by lib/cli.ts's whyLookupFailed, as in every chapter.
  test.skipIf(!PRIVATE_HOSTS)(
    "its name unknown to a DNS server that answers: 'cannot find the host' (needs root, unshare)",
    async () => {
      await using dns = privateDns();
      const { code, stdout } = await runLesson(
        "tests/01-basics/with-dns-server.ts",
        ["bun", "run", LESSON, "--json"],
        { argvPrefix: dns.argvPrefix },
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        resolved: [],
        resolveError: `cannot find the host "${hostname()}": no such name (check the spelling, or give an IP address)`,
      });
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "its name unknown to /etc/hosts and no DNS server to ask: 'no DNS server answered' (needs root, unshare)",
    async () => {
      await using hosts = privateHosts(["127.0.0.1 localhost"]);
      const { code, stdout } = await runLesson(LESSON, [], { argvPrefix: hosts.argvPrefix });
      expect(code).toBe(0);
      expect(stdout).toContain(
        `\n  could not look up "${hostname()}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts\n`,
      );
    },
  );

  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });

  test("an unknown flag or an argument is one sentence and the usage, exit 2", async () => {
    await expectUsageError(LESSON, ["--bogus"], "unknown flag --bogus: see the list below");
    await expectUsageError(
      LESSON,
      ["example.com"],
      "unexpected word example.com: this program takes flags only",
    );
  });
});
