// Lesson 01-basics/02-resolve.ts: every address of a name, from the system resolver.
//
// No test asks the machine's configured DNS servers. The system resolver is asked only about
// names that /etc/hosts holds (it answers those without sending anything), or inside a
// private network namespace: with no DNS server at all, or with the test DNS responder
// (tests/fixtures/dns-server.ts) standing in as the system's (tests/fixtures/private-hosts.ts).
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { resolveName } from "../../01-basics/02-resolve.ts";
import { SYSTEM_RESOLVER } from "../../01-basics/dns-names.ts";
import { UsageError } from "../../lib/cli.ts";
import { canUsePrivateHosts, privateDns, privateHosts } from "../fixtures/private-hosts.ts";
import {
  canUsePrivateNetwork,
  expectHelpMatchesRun,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
} from "../helpers.ts";
import { hostsFile } from "./common.ts";

const LESSON = "01-basics/02-resolve.ts";
const HOSTS = hostsFile();
const HAS_LOCALHOST = HOSTS.get("127.0.0.1")?.includes("localhost") ?? false;
const HAS_HOSTNAME = [...HOSTS.values()].flat().includes(hostname());
const PRIVATE = await canUsePrivateNetwork();
const PRIVATE_HOSTS = await canUsePrivateHosts();
const NO_DNS = (name: string): string =>
  `could not look up "${name}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`;
const NO_SUCH = (name: string): string =>
  `cannot find the host "${name}": no such name (check the spelling, or give an IP address)`;

describe("02-resolve in-process", () => {
  test.skipIf(!HAS_LOCALHOST)("the system resolver finds localhost in /etc/hosts", async () => {
    const result = await resolveName("localhost");
    expect(result.error).toBeNull();
    expect(result.addresses).toContainEqual({ address: "127.0.0.1", family: 4 });
  });

  test("a malformed name is refused before any look-up, with the sentence of a usage error", async () => {
    const refused = resolveName("bad..name");
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow('"bad..name" is not a valid host name');
  });
});

describe("02-resolve as a student runs it", () => {
  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });

  test.skipIf(!HAS_LOCALHOST)(
    "localhost through the system resolver, in text and JSON",
    async () => {
      const run = await runLesson(LESSON, ["localhost"]);
      expect(run.code).toBe(0);
      const line = run.stdout.match(/^localhost -> (.+) \((\d+) IPv4, (\d+) IPv6\)$/m);
      expect(line?.[1]?.split(", ")).toContain("127.0.0.1");
      expect(run.stdout).toContain(`answered by ${SYSTEM_RESOLVER}\n`);
      const json = await runLesson(LESSON, ["--json", "localhost"]);
      expect(json.code).toBe(0);
      const document = JSON.parse(json.stdout);
      expect(document.answeredBy).toBe("the system resolver (/etc/hosts, then DNS)");
      expect(document.results[0].addresses).toContainEqual({ address: "127.0.0.1", family: 4 });
    },
  );

  test.skipIf(!HAS_LOCALHOST || !HAS_HOSTNAME)(
    "no arguments looks up localhost and this machine's name (needs both in /etc/hosts)",
    async () => {
      const run = await runLesson(LESSON);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^localhost -> /m);
      expect(run.stdout).toMatch(new RegExp(`^${hostname()} -> `, "m"));
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "with a hosts file of its own: a name with an IPv6 and an IPv4 line gets both (needs root, unshare)",
    async () => {
      await using hosts = privateHosts(["::1 two.lab.test", "127.0.0.1 two.lab.test"]);
      const run = await runLesson(LESSON, ["--json", "two.lab.test"], {
        argvPrefix: hosts.argvPrefix,
      });
      expect(run.code).toBe(0);
      const { results } = JSON.parse(run.stdout) as { results: { addresses: unknown[] }[] };
      expect(results[0]?.addresses).toEqual(
        expect.arrayContaining([
          { address: "::1", family: 6 },
          { address: "127.0.0.1", family: 4 },
        ]),
      );
      expect(results[0]?.addresses).toHaveLength(2);
    },
  );

  test("bad names exit 2 with one sentence and the usage, escaped, before any look-up", async () => {
    await expectUsageError(
      LESSON,
      ["localhost", "bad..name"],
      '"bad..name" is not a valid host name: it has an empty label (two dots in a row, or a leading dot).',
    );
    await expectUsageError(
      LESSON,
      ["evil\u001b]0;pwned\u0007.test"],
      '"evil\\u001b]0;pwned\\u0007.test" is not a valid host name: a label holds a character other than letters, digits and inner hyphens.',
    );
    await expectUsageError(
      LESSON,
      ["--server", "127.0.0.1"],
      "unknown flag --server: see the list below",
    );
  });

  // Offline failures are worded by lib/cli.ts's whyLookupFailed, as in every chapter.
  test.skipIf(!PRIVATE)(
    "in a private network with no DNS server: 'no DNS server answered', exit 1; /etc/hosts still answers (needs root, unshare, ip)",
    async () => {
      const names = HAS_LOCALHOST ? ["nosuch.invalid", "localhost"] : ["nosuch.invalid"];
      const run = await runLesson(LESSON, names, { argvPrefix: PRIVATE_NETWORK });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`${NO_DNS("nosuch.invalid")}\n`);
      expect(run.stdout).toEndWith(`answered by ${SYSTEM_RESOLVER}\n`);
      if (HAS_LOCALHOST) expect(run.stdout).toStartWith("localhost -> 127.0.0.1");
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "with the test DNS responder as the system's: its answers, and 'cannot find the host' for a name it does not hold (needs root, unshare)",
    async () => {
      await using dns = privateDns();
      const run = await runLesson(
        "tests/01-basics/with-dns-server.ts",
        ["bun", "run", LESSON, "www.lab.test", "nosuch.lab.test"],
        { argvPrefix: dns.argvPrefix },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`${NO_SUCH("nosuch.lab.test")}\n`);
      expect(run.stdout).toMatch(/^www\.lab\.test -> .*10\.0\.0\.1.* \(2 IPv4, 1 IPv6\)$/m);
    },
  );
});
