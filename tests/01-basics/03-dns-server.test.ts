// Lesson 01-basics/03-dns-server.ts: the questions put to one DNS server by the lesson itself.
//
// Every DNS answer comes from tests/fixtures/dns-server.ts, a small responder on 127.0.0.1,
// port 0, reached with --server; a UDP port that never answers stands for a server that is
// down. The lesson's default (the servers of /etc/resolv.conf) is tried only inside a
// private namespace, where the test responder is that server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { askServer } from "../../01-basics/03-dns-server.ts";
import { answer, type DnsServer, LAB_ZONE, startDnsServer } from "../fixtures/dns-server.ts";
import { canUsePrivateHosts, privateDns } from "../fixtures/private-hosts.ts";
import {
  expectHelpMatchesRun,
  expectUsageError,
  runLesson,
  SLOW_TEST_MS,
  udpRequest,
} from "../helpers.ts";

const LESSON = "01-basics/03-dns-server.ts";
const PRIVATE_HOSTS = await canUsePrivateHosts();
const NO_DNS = (name: string): string =>
  `could not look up "${name}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`;
const NO_SUCH = (name: string): string =>
  `cannot find the host "${name}": no such name (check the spelling, or give an IP address)`;

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

describe("the test DNS responder (tests/fixtures/dns-server.ts)", () => {
  /** A standard query for `name`/`type` with id 0x1234 and recursion desired. */
  const query = (name: string, type: number): Buffer => {
    const labels = name.split(".").flatMap((label) => [label.length, ...Buffer.from(label)]);
    const header = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    return Buffer.from([...header, ...labels, 0, 0, type, 0, 1]);
  };

  test("answers an A question with the zone's records, echoing id and question", async () => {
    const reply = await udpRequest(dns.port, query("www.lab.test", 1));
    expect(reply.readUInt16BE(0)).toBe(0x1234);
    expect(reply[3]! & 0x0f).toBe(0); // NOERROR
    expect(reply.readUInt16BE(4)).toBe(1); // the question, echoed
    expect(reply.readUInt16BE(6)).toBe(2); // two A records
  });

  test("says NXDOMAIN for a name outside the zone, FORMERR for a broken question", async () => {
    const unknown = await udpRequest(dns.port, query("nosuch.lab.test", 1));
    expect(unknown[3]! & 0x0f).toBe(3);
    expect(unknown.readUInt16BE(6)).toBe(0);
    const broken = answer(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 97]), LAB_ZONE);
    expect(broken?.[3]! & 0x0f).toBe(1);
    expect(answer(Buffer.from([1, 2, 3]), LAB_ZONE)).toBeNull();
  });
});

describe("03-dns-server in-process", () => {
  test("a DNS server's answer: every A and AAAA record, and nothing from /etc/hosts", async () => {
    expect(await askServer("www.lab.test", dns.address)).toEqual({
      name: "www.lab.test",
      addresses: [
        { address: "10.0.0.1", family: 4 },
        { address: "10.0.0.2", family: 4 },
        { address: "fd00::1", family: 6 },
      ],
      aliasOf: null,
      error: null,
    });
    expect(asked("www.lab.test")).toEqual(expect.arrayContaining(["A", "AAAA"]));
    // localhost is in /etc/hosts, but the server alone answers.
    const local = await askServer("localhost", dns.address);
    expect(asked("localhost")).toContain("A");
    expect(local.addresses).toEqual([]);
  });

  test("an alias (CNAME) is followed to its addresses and named", async () => {
    const result = await askServer("alias.lab.test", dns.address);
    expect(result.aliasOf).toBe("www.lab.test");
    expect(result.addresses.map((entry) => entry.address)).toEqual([
      "10.0.0.1",
      "10.0.0.2",
      "fd00::1",
    ]);
    const v6 = await askServer("v6only.lab.test", dns.address);
    expect(v6.addresses).toEqual([{ address: "fd00::6", family: 6 }]);
  });

  test("a chain of aliases (short -> alias -> www) is named by the canonical name at its end", async () => {
    const result = await askServer("short.lab.test", dns.address);
    expect(result.aliasOf).toBe("www.lab.test");
    expect(result.addresses).toContainEqual({ address: "10.0.0.1", family: 4 });
    // Each hop was asked for: the lesson walked the chain, it did not guess the end.
    expect(asked("short.lab.test")).toContain("CNAME");
    expect(asked("alias.lab.test")).toContain("CNAME");
    expect(asked("www.lab.test")).toContain("CNAME");
  });

  // A name the server does not hold, and a server that does not answer: lib's two sentences.
  test(
    "unknown names, names without addresses and a silent server each get one sentence",
    async () => {
      const unknown = await askServer("nosuch.lab.test", dns.address);
      expect(unknown).toMatchObject({
        addresses: [],
        aliasOf: null,
        error: NO_SUCH("nosuch.lab.test"),
      });
      const dangling = await askServer("noaddress.lab.test", dns.address);
      expect(dangling.error).toBe(NO_SUCH("noaddress.lab.test"));
      const down = await askServer("www.lab.test", `127.0.0.1:${silent.port}`);
      expect(down).toMatchObject({ addresses: [], error: NO_DNS("www.lab.test") });
    },
    SLOW_TEST_MS,
  );

  test("an address is its own answer: no query is sent", async () => {
    const before = dns.questions.length;
    expect((await askServer("10.0.0.77", dns.address)).addresses).toEqual([
      { address: "10.0.0.77", family: 4 },
    ]);
    expect(dns.questions.length).toBe(before);
  });
});

describe("03-dns-server as a student runs it", () => {
  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });

  test("--server answers, aliases, and says which server answered", async () => {
    const run = await runLesson(LESSON, [
      "--server",
      dns.address,
      "www.lab.test",
      "alias.lab.test",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        "www.lab.test -> 10.0.0.1, 10.0.0.2, fd00::1 (2 IPv4, 1 IPv6)",
        "alias.lab.test (an alias of www.lab.test) -> 10.0.0.1, 10.0.0.2, fd00::1 (2 IPv4, 1 IPv6)",
        `answered by DNS server ${dns.address}`,
        "",
      ].join("\n"),
    );
  });

  test("an unknown name is one sentence and exit 1; the others still print", async () => {
    const args = ["--server", dns.address, "nosuch.lab.test", "v4only.lab.test"];
    const run = await runLesson(LESSON, args);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${NO_SUCH("nosuch.lab.test")}\n`);
    expect(run.stdout).toContain("v4only.lab.test -> 10.0.0.3 (1 IPv4, 0 IPv6)");
    const json = await runLesson(LESSON, ["--json", "--server", dns.address, "nosuch.lab.test"]);
    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout);
    expect(document.answeredBy).toBe(`DNS server ${dns.address}`);
    expect(document.results[0]).toEqual({
      name: "nosuch.lab.test",
      addresses: [],
      aliasOf: null,
      error: NO_SUCH("nosuch.lab.test"),
    });
  });

  test(
    "a DNS server that never answers is one sentence and exit 1",
    async () => {
      const run = await runLesson(LESSON, ["--server", `127.0.0.1:${silent.port}`, "www.lab.test"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`${NO_DNS("www.lab.test")}\n`);
    },
    SLOW_TEST_MS,
  );

  test("bad names and bad flags exit 2 with one sentence and the usage, sending nothing", async () => {
    const before = dns.questions.length;
    const cases: [string[], string][] = [
      [
        ["--server", dns.address, "www.lab.test", "bad..name"],
        '"bad..name" is not a valid host name: it has an empty label (two dots in a row, or a leading dot).',
      ],
      [
        ["--server", dns.address, `${"x".repeat(64)}.test`],
        `"${"x".repeat(64)}.test" is not a valid host name: a label is longer than 63 characters.`,
      ],
      [
        ["--server", dns.address, "evil\u001b]0;pwned\u0007.test"],
        '"evil\\u001b]0;pwned\\u0007.test" is not a valid host name: a label holds a character other than letters, digits and inner hyphens.',
      ],
      [
        ["--server", "localhost:53", "www.lab.test"],
        '--server "localhost:53" is not an IP address and port, like 127.0.0.1:5353 or [::1]:5353.',
      ],
      [["--bogus"], "unknown flag --bogus: see the list below"],
    ];
    for (const [args, sentence] of cases) await expectUsageError(LESSON, args, sentence);
    const { stderr } = await runLesson(LESSON, ["--server", dns.address, "evil\u001b]0;x.test"]);
    expect(stderr).not.toContain("\u001b");
    expect(dns.questions.length).toBe(before);
  });

  test.skipIf(!PRIVATE_HOSTS)(
    "no --server: asks the server of /etc/resolv.conf, here the test responder in a private namespace (needs root, unshare)",
    async () => {
      await using resolver = privateDns();
      const run = await runLesson(
        "tests/01-basics/with-dns-server.ts",
        ["bun", "run", LESSON, "www.lab.test"],
        { argvPrefix: resolver.argvPrefix },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(
        "www.lab.test -> 10.0.0.1, 10.0.0.2, fd00::1 (2 IPv4, 1 IPv6)\nanswered by DNS server 127.0.0.1\n",
      );
      // No NAME: example.com, which this server does not hold.
      const fallback = await runLesson(
        "tests/01-basics/with-dns-server.ts",
        ["bun", "run", LESSON],
        { argvPrefix: resolver.argvPrefix },
      );
      expect(fallback.code).toBe(1);
      expect(fallback.stderr).toBe(`${NO_SUCH("example.com")}\n`);
    },
  );
});
