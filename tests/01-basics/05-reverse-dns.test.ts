// Lesson 01-basics/05-reverse-dns.ts: an address to its names, and the check that they lead back.
//
// PTR answers come from tests/fixtures/dns-server.ts (on 127.0.0.1, port 0, via --server);
// the system resolver is asked only about addresses /etc/hosts holds, or inside a private
// namespace (with a hosts file of the test's own, or with no DNS server at all).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lookupAddress, NoNameError } from "../../01-basics/05-reverse-dns.ts";
import { SYSTEM_RESOLVER } from "../../01-basics/dns-names.ts";
import { plainAddress, reverseName } from "../../01-basics/ipaddress.ts";
import {
  type DnsServer,
  LAB_ZONE,
  reverseName as fixtureReverseName,
  startDnsServer,
} from "../fixtures/dns-server.ts";
import { canUsePrivateHosts, privateDns, privateHosts } from "../fixtures/private-hosts.ts";
import {
  canUsePrivateNetwork,
  expectHelpMatchesRun,
  expectUsageError,
  PRIVATE_NETWORK,
  runLesson,
  SLOW_TEST_MS,
} from "../helpers.ts";
import { hostsFile } from "./common.ts";

const LESSON = "01-basics/05-reverse-dns.ts";
const HOSTS = hostsFile();
const HAS_LOCALHOST = HOSTS.get("127.0.0.1")?.includes("localhost") ?? false;
const PRIVATE = await canUsePrivateNetwork();
const PRIVATE_HOSTS = await canUsePrivateHosts();
const NOT_AN_ADDRESS = (text: string): string =>
  `${JSON.stringify(text)} is not an IP address: give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts).`;
const NO_DNS = (address: string): string =>
  `could not look up "${address}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`;

let dns: DnsServer;
/** A UDP port that takes queries and never answers: a DNS server that is down. */
let silent: { port: number; close(): void };
beforeAll(async () => {
  dns = await startDnsServer(LAB_ZONE);
  silent = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
});
afterAll(() => {
  dns.close();
  silent.close();
});

const asked = (name: string): string[] =>
  dns.questions.filter((question) => question.name === name).map((question) => question.type);

describe("05-reverse-dns in-process", () => {
  test("reverseName writes the address backwards under in-addr.arpa / ip6.arpa", () => {
    expect(reverseName("10.0.0.1")).toBe("1.0.0.10.in-addr.arpa");
    // The example of RFC 3596, section 2.5.
    expect(reverseName("2001:db8::567:89ab")).toBe(
      "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    );
    for (const address of ["fd00::1", "::1", "::", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8"]) {
      expect(reverseName(address)).toBe(fixtureReverseName(address));
    }
    expect(reverseName("::ffff:10.0.0.1")).toBe(fixtureReverseName("::ffff:a00:1"));
    expect(reverseName("fe80::1%eth0")).toBe(fixtureReverseName("fe80::1"));
  });

  test("plainAddress: the zone goes, and an IPv4-mapped address is the IPv4 address", () => {
    expect(plainAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(plainAddress("::FFFF:c000:201")).toBe("192.0.2.1");
    expect(plainAddress("::ffff:255.255.255.255")).toBe("255.255.255.255");
    expect(plainAddress("fe80::1%eth0")).toBe("fe80::1");
    expect(plainAddress("::ffff:0:1")).toBe("0.0.0.1"); // ::ffff:0.0.0.1, mapped too
    for (const same of ["10.0.0.1", "::1", "fd00::1", "::ffff:0:a00:1", "64:ff9b::a00:1"]) {
      expect(plainAddress(same)).toBe(same);
    }
  });

  test.skipIf(!HAS_LOCALHOST)(
    "system: 127.0.0.1 gets its first /etc/hosts name (which dns.reverse alone drops) and the rest as aliases",
    async () => {
      const names = [...new Set(HOSTS.get("127.0.0.1"))];
      const entry = await lookupAddress("127.0.0.1");
      expect(entry.hostname).toBe(names[0]!);
      expect(entry.aliases.toSorted()).toEqual(names.slice(1).toSorted());
      expect(entry.addresses).toContain("127.0.0.1");
      expect(entry.confirmed).toBe(true);
    },
  );

  test("--server: PTR names become the host name and aliases, confirmed by A/AAAA", async () => {
    expect(await lookupAddress("10.0.0.1", dns.address)).toEqual({
      address: "10.0.0.1",
      hostname: "www.lab.test",
      aliases: ["web.lab.test"],
      addresses: ["10.0.0.1", "10.0.0.2", "fd00::1"],
      confirmed: true,
      answeredBy: `DNS server ${dns.address}`,
    });
    expect(asked("1.0.0.10.in-addr.arpa")).toContain("PTR");
    const v6 = await lookupAddress("fd00:0:0::1", dns.address);
    expect(v6.hostname).toBe("www.lab.test");
    expect(v6.confirmed).toBe(true);
  });

  test("--server: a name that does not lead back is reported as not confirmed", async () => {
    const stale = await lookupAddress("10.0.0.9", dns.address);
    expect(stale).toMatchObject({ hostname: "stale.lab.test", addresses: [], confirmed: false });
  });

  test("--server: an IPv4-mapped address is asked under in-addr.arpa and leads back", async () => {
    const entry = await lookupAddress("::ffff:10.0.0.1", dns.address);
    expect(entry).toMatchObject({
      address: "::ffff:10.0.0.1",
      hostname: "www.lab.test",
      confirmed: true,
    });
    expect(asked(fixtureReverseName("::ffff:a00:1"))).toEqual([]); // never under ip6.arpa
  });

  test("--server: a zoned link-local address is asked without its zone", async () => {
    const failure = lookupAddress("fe80::1%lo", dns.address);
    await expect(failure).rejects.toThrow(NoNameError);
    await expect(failure).rejects.toThrow(/^fe80::1%lo has no name: /);
    expect(asked(fixtureReverseName("fe80::1"))).toContain("PTR");
  });

  test("--server: a PTR behind a CNAME (RFC 2317 classless delegation) is followed", async () => {
    const entry = await lookupAddress("10.0.0.5", dns.address);
    expect(entry).toMatchObject({ hostname: "classless.lab.test", confirmed: true });
    expect(entry.addresses).toEqual(["10.0.0.5"]);
  });

  test("--server asks the server even for 127.0.0.1, never /etc/hosts", async () => {
    const failure = lookupAddress("127.0.0.1", dns.address);
    await expect(failure).rejects.toThrow(NoNameError);
    expect(asked("1.0.0.127.in-addr.arpa")).toContain("PTR");
  });

  test(
    "invalid address, no name, and a silent server: three different errors",
    async () => {
      const before = dns.questions.length;
      for (const bad of ["abc", "999.1.1.1", "", "10.0.0.1/24", "::g"]) {
        await expect(lookupAddress(bad, dns.address)).rejects.toThrow(NOT_AN_ADDRESS(bad));
      }
      expect(dns.questions.length).toBe(before);
      const none = lookupAddress("10.0.0.7", dns.address);
      await expect(none).rejects.toThrow(NoNameError);
      await expect(none).rejects.toThrow(
        `10.0.0.7 has no name: DNS server ${dns.address} knows none; use the address.`,
      );
      const error = await lookupAddress("10.0.0.1", `127.0.0.1:${silent.port}`).catch(
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(NoNameError);
      expect((error as Error).message).toBe(NO_DNS("10.0.0.1"));
    },
    SLOW_TEST_MS,
  );
});

describe("05-reverse-dns as a student runs it", () => {
  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });

  test.skipIf(!HAS_LOCALHOST)(
    "no arguments names 127.0.0.1 through the system resolver",
    async () => {
      const names = [...new Set(HOSTS.get("127.0.0.1"))];
      const run = await runLesson(LESSON);
      expect(run.code).toBe(0);
      expect(run.stdout).toStartWith(`127.0.0.1 is ${names[0]} (aliases: `);
      expect(run.stdout).toContain(`answered by ${SYSTEM_RESOLVER}\n`);
      const json = await runLesson(LESSON, ["--json"]);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        address: "127.0.0.1",
        hostname: names[0],
        confirmed: true,
        answeredBy: SYSTEM_RESOLVER,
      });
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "with a hosts file of its own: first name, aliases, ::ffff: form and zone (needs root, unshare)",
    async () => {
      await using hosts = privateHosts([
        "10.9.9.9 first.lab.test second.lab.test",
        "fe80::1 link.lab.test",
      ]);
      const options = { argvPrefix: hosts.argvPrefix };
      for (const address of ["10.9.9.9", "::ffff:10.9.9.9"]) {
        const run = await runLesson(LESSON, ["--json", address], options);
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toEqual({
          address,
          hostname: "first.lab.test",
          aliases: ["second.lab.test"],
          addresses: ["10.9.9.9"],
          confirmed: true,
          answeredBy: SYSTEM_RESOLVER,
        });
      }
      // The zone says which link; the name belongs to the address without it.
      const zoned = await runLesson(LESSON, ["fe80::1%lo"], options);
      expect(zoned.stderr).toBe("");
      expect(zoned.code).toBe(0);
      expect(zoned.stdout).toStartWith("fe80::1%lo is link.lab.test (aliases: none)\n");
      expect(zoned.stdout).toContain("the name leads back to the address");
    },
  );

  test("--server prints name, aliases, forward check and which server answered", async () => {
    const run = await runLesson(LESSON, ["--server", dns.address, "10.0.0.1"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        "10.0.0.1 is www.lab.test (aliases: web.lab.test)",
        "www.lab.test resolves to 10.0.0.1, 10.0.0.2, fd00::1: the name leads back to the address",
        `answered by DNS server ${dns.address}`,
        "",
      ].join("\n"),
    );
    const stale = await runLesson(LESSON, ["--server", dns.address, "--json", "10.0.0.9"]);
    expect(stale.code).toBe(0);
    expect(JSON.parse(stale.stdout)).toEqual({
      address: "10.0.0.9",
      hostname: "stale.lab.test",
      aliases: [],
      addresses: [],
      confirmed: false,
      answeredBy: `DNS server ${dns.address}`,
    });
    const text = await runLesson(LESSON, ["--server", dns.address, "10.0.0.9"]);
    expect(text.stdout).toContain(
      "stale.lab.test resolves to nothing: the name does not lead back: do not trust it\n",
    );
  });

  test("an address with no name exits 1, an invalid one exits 2, with different sentences", async () => {
    const none = await runLesson(LESSON, ["--server", dns.address, "10.0.0.7"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      `10.0.0.7 has no name: DNS server ${dns.address} knows none; use the address.\n`,
    );
    expect(none.stdout).toBe("");
    await expectUsageError(LESSON, ["not-an-address"], NOT_AN_ADDRESS("not-an-address"));
    await expectUsageError(LESSON, ["1.2.3.4", "5.6.7.8"], "give at most 1 [ADDRESS], not 2");
    await expectUsageError(
      LESSON,
      ["--server", "dns.lab.test:53", "10.0.0.1"],
      '--server "dns.lab.test:53" is not an IP address and port, like 127.0.0.1:5353 or [::1]:5353.',
    );
    await expectUsageError(LESSON, ["--bogus"], "unknown flag --bogus: see the list below");
  });

  // Lib's whyLookupFailed words a server that does not answer, as in every chapter.
  test(
    "a DNS server that never answers exits 1 with lib's sentence",
    async () => {
      const run = await runLesson(LESSON, ["--server", `127.0.0.1:${silent.port}`, "10.0.0.1"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`${NO_DNS("10.0.0.1")}\n`);
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!PRIVATE)(
    "in a private network: an address with no name through the system resolver is exit 1 (needs root, unshare, ip)",
    async () => {
      const run = await runLesson(LESSON, ["192.0.2.123"], { argvPrefix: PRIVATE_NETWORK });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `192.0.2.123 has no name: ${SYSTEM_RESOLVER} knows none; use the address.\n`,
      );
    },
  );

  test.skipIf(!PRIVATE_HOSTS)(
    "with the test DNS responder as the system's: its PTR names, and no name for an address it does not hold (needs root, unshare)",
    async () => {
      await using resolver = privateDns();
      const run = (address: string) =>
        runLesson("tests/01-basics/with-dns-server.ts", ["bun", "run", LESSON, "--json", address], {
          argvPrefix: resolver.argvPrefix,
        });
      const known = await run("10.0.0.3");
      expect(known.code).toBe(0);
      expect(JSON.parse(known.stdout)).toMatchObject({
        hostname: "v4only.lab.test",
        addresses: ["10.0.0.3"],
        confirmed: true,
      });
      const unknown = await run("10.0.0.7");
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe(
        `10.0.0.7 has no name: ${SYSTEM_RESOLVER} knows none; use the address.\n`,
      );
    },
  );
});
