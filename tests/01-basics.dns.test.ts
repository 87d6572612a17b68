/**
 * Chapter 01, the name lessons: resolve (02), service-name (03) and reverse-dns (04).
 *
 * No test ever queries the machine's configured DNS resolver. DNS answers (addresses,
 * aliases, PTR, unknown names) come from tests/fixtures/dns-server.ts on 127.0.0.1 port 0,
 * reached with `--server`. The system resolver is asked only about names and addresses that
 * /etc/hosts holds (it answers those without sending anything), and about unknown ones only
 * inside a private network namespace, where no packet can leave the machine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import {
  hostNameProblem,
  parseServer,
  resolveName,
  SYSTEM_RESOLVER,
} from "../01-basics/02-resolve.ts";
import {
  DatabaseError,
  explain,
  findServices,
  loadServices,
  parseQuery,
  parseServices,
  type ServiceEntry,
} from "../01-basics/03-service-name.ts";
import {
  lookupAddress,
  NoNameError,
  plainAddress,
  reverseName,
} from "../01-basics/04-reverse-dns.ts";
import {
  answer,
  type DnsServer,
  LAB_ZONE,
  reverseName as fixtureReverseName,
  startDnsServer,
} from "./fixtures/dns-server.ts";
import { canUsePrivateHosts, privateHosts } from "./fixtures/private-hosts.ts";
import {
  canUsePrivateNetwork,
  PRIVATE_NETWORK,
  runLesson,
  udpRequest,
  SLOW_TEST_MS,
} from "./helpers.ts";

const RESOLVE = "01-basics/02-resolve.ts";
const SERVICE = "01-basics/03-service-name.ts";
const REVERSE = "01-basics/04-reverse-dns.ts";

/** Every address in /etc/hosts with its names in file order: what the system answers offline. */
function readHostsFile(): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  const text = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "";
  for (const line of text.split("\n")) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (address && names.length > 0) hosts.set(address, [...(hosts.get(address) ?? []), ...names]);
  }
  return hosts;
}
const HOSTS = readHostsFile();
const HOSTS_NAMES = new Set([...HOSTS.values()].flat());
/** Guards for system look-ups: without these entries the system would ask a DNS server. */
const HAS_LOCALHOST = HOSTS.get("127.0.0.1")?.includes("localhost") ?? false;
const HAS_HOSTNAME = HOSTS_NAMES.has(hostname());
const PRIVATE = await canUsePrivateNetwork();
/** Whether a test may give the system resolver a hosts file of its own (see private-hosts.ts). */
const PRIVATE_HOSTS = await canUsePrivateHosts();

/** Text as a regular expression that must match a whole line, with `(CODE)` left open. */
const sentence = (text: string): RegExp =>
  new RegExp(
    `^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace("\\(CODE\\)", "\\([A-Z_]+\\)")}$`,
    "m",
  );

let dns: DnsServer;
/** A UDP port that takes queries and never answers: a DNS server that is down. */
let silent: { port: number; close(): void };
let workDir: string;

beforeAll(async () => {
  dns = await startDnsServer(LAB_ZONE);
  silent = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
  workDir = mkdtempSync(join(tmpdir(), "sockets-lab-dns-"));
});

afterAll(() => {
  dns.close();
  silent.close();
  rmSync(workDir, { recursive: true, force: true });
});

const asked = (name: string): string[] =>
  dns.questions.filter((question) => question.name === name).map((question) => question.type);

describe("the test DNS responder (tests/fixtures/dns-server.ts)", () => {
  /** A standard query for `name`/`type` with id 0x1234 and recursion desired. */
  const query = (name: string, type: number): Buffer => {
    const labels = name.split(".").map((label) => [label.length, ...Buffer.from(label)]);
    return Buffer.from([
      0x12,
      0x34,
      1,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      ...labels.flat(),
      0,
      0,
      type,
      0,
      1,
    ]);
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

describe("02-resolve: a name to all of its addresses", () => {
  test("hostNameProblem refuses malformed and hostile names with one sentence each", () => {
    expect(hostNameProblem("bad..name")).toBe(
      '"bad..name" is not a valid host name: it has an empty label (two dots in a row, or a leading dot).',
    );
    expect(hostNameProblem(`${"a".repeat(64)}.lab.test`)).toBe(
      `"${"a".repeat(64)}.lab.test" is not a valid host name: a label is longer than 63 characters.`,
    );
    expect(hostNameProblem(`${"a.".repeat(127)}ab`)).toBe(
      `"${"a.".repeat(127)}ab" is not a valid host name: a host name has 1 to 253 characters.`,
    );
    expect(hostNameProblem("-lead.lab.test")).toMatch(/letters, digits and inner hyphens\.$/);
    expect(hostNameProblem("evil\u001b[31m;rm -rf")).toBe(
      '"evil\\u001b[31m;rm -rf" is not a valid host name: a label holds a character other than letters, digits and inner hyphens.',
    );
    expect(hostNameProblem("")).toMatch(/^"" is not a valid host name/);
    for (const good of ["localhost", "www.lab.test", "www.lab.test.", "10.0.0.1", "::1", "x-1.y"]) {
      expect(hostNameProblem(good)).toBeNull();
    }
  });

  test("parseServer takes IP:PORT, [IPv6]:PORT or a bare IP (port 53), nothing else", () => {
    expect(parseServer("127.0.0.1:5353")).toBe("127.0.0.1:5353");
    expect(parseServer("[::1]:5353")).toBe("[::1]:5353");
    expect(parseServer("127.0.0.1")).toBe("127.0.0.1:53");
    for (const bad of [
      "localhost:53",
      "127.0.0.1:70000",
      "127.0.0.1:0",
      "::1:53",
      "",
      "1.2.3:53",
    ]) {
      expect(() => parseServer(bad)).toThrow(
        `--server ${JSON.stringify(bad)} is not an IP address and port, like 127.0.0.1:5353 or [::1]:5353.`,
      );
    }
  });

  test.skipIf(!HAS_LOCALHOST)("the system resolver finds localhost in /etc/hosts", async () => {
    const result = await resolveName("localhost");
    expect(result.error).toBeNull();
    expect(result.aliasOf).toBeNull();
    expect(result.addresses).toContainEqual({ address: "127.0.0.1", family: 4 });
  });

  test("a DNS server's answer: every A and AAAA record, and nothing from /etc/hosts", async () => {
    const result = await resolveName("www.lab.test", dns.address);
    expect(result).toEqual({
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
    // localhost is in /etc/hosts, but --server means the server alone answers.
    const local = await resolveName("localhost", dns.address);
    expect(asked("localhost")).toContain("A");
    expect(local.addresses).toEqual([]);
  });

  test("an alias (CNAME) is followed to its addresses and named", async () => {
    const result = await resolveName("alias.lab.test", dns.address);
    expect(result.aliasOf).toBe("www.lab.test");
    expect(result.addresses.map((entry) => entry.address)).toEqual([
      "10.0.0.1",
      "10.0.0.2",
      "fd00::1",
    ]);
    const v6 = await resolveName("v6only.lab.test", dns.address);
    expect(v6.addresses).toEqual([{ address: "fd00::6", family: 6 }]);
  });

  test("a chain of aliases (short -> alias -> www) is named by the canonical name at its end", async () => {
    const result = await resolveName("short.lab.test", dns.address);
    expect(result.aliasOf).toBe("www.lab.test");
    expect(result.addresses).toContainEqual({ address: "10.0.0.1", family: 4 });
    // Each hop was asked for: the lesson walked the chain, it did not guess the end.
    expect(asked("short.lab.test")).toContain("CNAME");
    expect(asked("alias.lab.test")).toContain("CNAME");
    expect(asked("www.lab.test")).toContain("CNAME");
  });

  test.skipIf(!PRIVATE_HOSTS)(
    "spawned with a hosts file of its own: a name with an IPv6 and an IPv4 line gets both (needs root, unshare)",
    async () => {
      await using hosts = privateHosts(["::1 two.lab.test", "127.0.0.1 two.lab.test"]);
      const run = await runLesson(RESOLVE, ["--json", "two.lab.test"], {
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

  test(
    "unknown names, names without addresses and a silent server each get one sentence",
    async () => {
      const unknown = await resolveName("nosuch.lab.test", dns.address);
      expect(unknown.addresses).toEqual([]);
      expect(unknown.error).toMatch(
        sentence(
          `DNS server ${dns.address} has no address for nosuch.lab.test (CODE): check the spelling, and that the server runs.`,
        ),
      );
      const dangling = await resolveName("noaddress.lab.test", dns.address);
      expect(dangling.error).toMatch(/has no address for noaddress\.lab\.test/);
      const down = await resolveName("www.lab.test", `127.0.0.1:${silent.port}`);
      expect(down.error).toMatch(
        sentence(
          `DNS server 127.0.0.1:${silent.port} did not answer about www.lab.test (CODE): check the spelling, and that the server runs.`,
        ),
      );
    },
    SLOW_TEST_MS,
  );

  test("a malformed name is refused before any query; an address is its own answer", async () => {
    const before = dns.questions.length;
    await expect(resolveName("bad..name", dns.address)).rejects.toThrow(RangeError);
    expect((await resolveName("10.0.0.77", dns.address)).addresses).toEqual([
      { address: "10.0.0.77", family: 4 },
    ]);
    expect(dns.questions.length).toBe(before);
  });

  test("spawned: --help prints usage and exits 0", async () => {
    const run = await runLesson(RESOLVE, ["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toStartWith("usage: bun run 01-basics/02-resolve.ts [NAME...]");
    expect(run.stderr).toBe("");
  });

  test.skipIf(!HAS_LOCALHOST)("spawned: localhost through the system resolver", async () => {
    const run = await runLesson(RESOLVE, ["localhost"]);
    expect(run.code).toBe(0);
    const line = run.stdout.match(/^localhost -> (.+) \((\d+) IPv4, (\d+) IPv6\)$/m);
    expect(line?.[1]?.split(", ")).toContain("127.0.0.1");
    expect(run.stdout).toContain(`answered by ${SYSTEM_RESOLVER}\n`);
    const json = await runLesson(RESOLVE, ["--json", "localhost"]);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(document.answeredBy).toBe("the system resolver (/etc/hosts, then DNS)");
    expect(document.results[0].addresses).toContainEqual({ address: "127.0.0.1", family: 4 });
  });

  test.skipIf(!HAS_LOCALHOST || !HAS_HOSTNAME)(
    "spawned: no arguments looks up localhost and this machine's name (needs both in /etc/hosts)",
    async () => {
      const run = await runLesson(RESOLVE);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^localhost -> /m);
      expect(run.stdout).toMatch(new RegExp(`^${hostname()} -> `, "m"));
    },
  );

  test("spawned: --server answers, aliases, and says which server answered", async () => {
    const run = await runLesson(RESOLVE, [
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

  test("spawned: an unknown name is one sentence and exit 1; the others still print", async () => {
    const run = await runLesson(RESOLVE, [
      "--server",
      dns.address,
      "nosuch.lab.test",
      "v4only.lab.test",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      sentence(
        `DNS server ${dns.address} has no address for nosuch.lab.test (CODE): check the spelling, and that the server runs.`,
      ),
    );
    expect(run.stdout).toContain("v4only.lab.test -> 10.0.0.3 (1 IPv4, 0 IPv6)");
    const json = await runLesson(RESOLVE, ["--json", "--server", dns.address, "nosuch.lab.test"]);
    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout);
    expect(document.answeredBy).toBe(`DNS server ${dns.address}`);
    expect(document.results[0]).toMatchObject({ name: "nosuch.lab.test", addresses: [] });
    expect(document.results[0].error).toContain("has no address for nosuch.lab.test");
  });

  test(
    "spawned: a DNS server that never answers is one sentence and exit 1",
    async () => {
      const run = await runLesson(RESOLVE, [
        "--server",
        `127.0.0.1:${silent.port}`,
        "www.lab.test",
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        sentence(
          `DNS server 127.0.0.1:${silent.port} did not answer about www.lab.test (CODE): check the spelling, and that the server runs.`,
        ),
      );
    },
    SLOW_TEST_MS,
  );

  test("spawned: bad names and bad flags exit 2 with one sentence and the usage, sending nothing", async () => {
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
    ];
    for (const [args, message] of cases) {
      const run = await runLesson(RESOLVE, args);
      expect(run.code).toBe(2);
      expect(run.stderr.split("\n")[0]).toBe(message);
      expect(run.stderr).toContain("usage: bun run 01-basics/02-resolve.ts");
      expect(run.stderr).not.toContain("\u001b");
      expect(run.stdout).toBe("");
    }
    const unknownFlag = await runLesson(RESOLVE, ["--bogus"]);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toStartWith("Unknown option '--bogus'");
    expect(dns.questions.length).toBe(before);
  });

  test.skipIf(!PRIVATE)(
    "spawned in a private network: an unknown name through the system resolver is exit 1 (needs root, unshare, ip)",
    async () => {
      const run = await runLesson(RESOLVE, ["nosuch.invalid"], { argvPrefix: PRIVATE_NETWORK });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /^the system resolver (could not reach DNS to look up|knows no address for) nosuch\.invalid \([A-Z_]+\): check the spelling, \/etc\/hosts and your network\.$/m,
      );
      expect(run.stdout).toBe(`answered by ${SYSTEM_RESOLVER}\n`);
    },
  );
});

describe("03-service-name: port and protocol to service name, and back", () => {
  const SERVICES = [
    "# a small services database, so the tests do not depend on the machine's",
    "ssh         22/tcp                  # SSH Remote Login Protocol",
    "smtp        25/tcp     mail",
    "domain      53/tcp",
    "domain      53/udp",
    "http        80/tcp     www www-http",
    "lab-only    4242/udp   labby",
    "sctp-thing  9/sctp",
    "",
    "not a service line",
    "broken      99x/tcp",
  ].join("\n");
  let servicesFile = "";
  let entries: ServiceEntry[] = [];
  beforeAll(() => {
    servicesFile = join(workDir, "services");
    writeFileSync(servicesFile, SERVICES);
    entries = loadServices(servicesFile);
  });
  const lookUp = (text: string): string => {
    const query = parseQuery(text, entries);
    return explain(text, query, findServices(query, entries), servicesFile);
  };

  test("parseServices reads name, port/protocol and aliases, and skips comments and junk", () => {
    const parsed = parseServices(SERVICES);
    expect(parsed).toHaveLength(7);
    expect(parsed[0]).toEqual({ name: "ssh", port: 22, protocol: "tcp", aliases: [] });
    expect(parsed[4]).toEqual({
      name: "http",
      port: 80,
      protocol: "tcp",
      aliases: ["www", "www-http"],
    });
  });

  test("port/protocol to name, a port in every protocol, a name or alias to its ports", () => {
    expect(lookUp("22/tcp")).toBe("22/tcp is ssh");
    expect(lookUp("22/TCP")).toBe("22/TCP is ssh");
    expect(lookUp("53")).toBe("53 is domain on tcp and domain on udp");
    expect(lookUp("domain")).toBe("domain is 53/tcp and 53/udp");
    expect(lookUp("www")).toBe("www is 80/tcp (as http)");
    expect(lookUp("80/tcp")).toBe("80/tcp is http (also called www, www-http)");
    expect(lookUp("labby")).toBe("labby is 4242/udp (as lab-only)");
  });

  test("no such service: a clear answer, not an error in the input", () => {
    expect(lookUp("22/udp")).toBe(
      `no service is registered for 22/udp in ${servicesFile}: the port has no name, which does not mean it is unused.`,
    );
    expect(lookUp("nosuch")).toBe(
      `no service is named nosuch in ${servicesFile}: check the spelling, or look it up by port number.`,
    );
  });

  test("bad queries throw one sentence each", () => {
    expect(() => parseQuery("70000", entries)).toThrow(
      "70000 is not a port number: ports run from 0 to 65535.",
    );
    expect(() => parseQuery("70000/tcp", entries)).toThrow("70000 is not a port number");
    expect(() => parseQuery("abc/tcp", entries)).toThrow(
      '"abc/tcp" is not PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain).',
    );
    expect(() => parseQuery("22/xyz", entries)).toThrow(
      '"xyz" is not a protocol in the services database: use one of tcp, udp, sctp.',
    );
    expect(() => parseQuery("a b", entries)).toThrow('"a b" is not PORT/PROTOCOL');
    expect(parseQuery("0/udp", entries)).toEqual({ port: 0, protocol: "udp" });
  });

  test("a missing database is a DatabaseError that says what to do", () => {
    const missing = join(workDir, "no-such-services");
    expect(() => loadServices(missing)).toThrow(DatabaseError);
    expect(() => loadServices(missing)).toThrow(
      `cannot read the services database ${missing} (ENOENT): check the path given to --services.`,
    );
  });

  test("a database with no service line is a DatabaseError, not 'no such service' for all", async () => {
    const empty = join(workDir, "empty-services");
    writeFileSync(empty, "# only a comment\n\nnot a service line\n");
    const sentence = `${empty} holds no service lines (like "ssh 22/tcp"): check the path given to --services.`;
    expect(() => loadServices(empty)).toThrow(DatabaseError);
    expect(() => loadServices(empty)).toThrow(sentence);
    const run = await runLesson(SERVICE, ["--services", empty, "22/tcp"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${sentence}\n`);
    expect(run.stdout).toBe("");
  });

  test.skipIf(!existsSync("/etc/services"))(
    "the machine's /etc/services names ssh and domain (Debian package netbase)",
    () => {
      const system = loadServices();
      expect(
        findServices({ port: 22, protocol: "tcp" }, system).map((entry) => entry.name),
      ).toContain("ssh");
      expect(findServices({ name: "domain" }, system).map((entry) => entry.protocol)).toEqual(
        expect.arrayContaining(["tcp", "udp"]),
      );
    },
  );

  test("spawned: --help, the default queries, several queries in text and in JSON", async () => {
    const help = await runLesson(SERVICE, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith("usage: bun run 01-basics/03-service-name.ts");
    const defaults = await runLesson(SERVICE, ["--services", servicesFile]);
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toBe(
      "22/tcp is ssh\n53 is domain on tcp and domain on udp\ndomain is 53/tcp and 53/udp\nwww is 80/tcp (as http)\n",
    );
    const json = await runLesson(SERVICE, ["--services", servicesFile, "--json", "mail", "25/tcp"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      database: servicesFile,
      results: [
        {
          query: "mail",
          found: [{ name: "smtp", port: 25, protocol: "tcp", aliases: ["mail"] }],
          answer: "mail is 25/tcp (as smtp)",
        },
        {
          query: "25/tcp",
          found: [{ name: "smtp", port: 25, protocol: "tcp", aliases: ["mail"] }],
          answer: "25/tcp is smtp (also called mail)",
        },
      ],
    });
  });

  test("spawned: no such service is one sentence on stderr and exit 1", async () => {
    const run = await runLesson(SERVICE, ["--services", servicesFile, "12345/tcp", "ssh"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `no service is registered for 12345/tcp in ${servicesFile}: the port has no name, which does not mean it is unused.\n`,
    );
    expect(run.stdout).toBe("ssh is 22/tcp\n");
  });

  test("spawned: bad input exits 2 with one sentence and the usage; a missing file exits 1", async () => {
    const cases: [string, string][] = [
      ["70000", "70000 is not a port number: ports run from 0 to 65535."],
      [
        "abc/tcp",
        '"abc/tcp" is not PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain).',
      ],
      ["22/xyz", '"xyz" is not a protocol in the services database: use one of tcp, udp, sctp.'],
    ];
    for (const [query, message] of cases) {
      const run = await runLesson(SERVICE, ["--services", servicesFile, query]);
      expect(run.code).toBe(2);
      expect(run.stderr.split("\n")[0]).toBe(message);
      expect(run.stderr).toContain("usage: bun run 01-basics/03-service-name.ts");
      expect(run.stdout).toBe("");
    }
    const flag = await runLesson(SERVICE, ["--port", "22"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toStartWith("Unknown option '--port'");
    const missing = join(workDir, "missing");
    const run = await runLesson(SERVICE, ["--services", missing, "22/tcp"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `cannot read the services database ${missing} (ENOENT): check the path given to --services.\n`,
    );
  });

  test.skipIf(!existsSync("/etc/services"))(
    "spawned: with no flags it reads /etc/services (Debian package netbase)",
    async () => {
      const run = await runLesson(SERVICE, ["22/tcp", "domain"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^22\/tcp is ssh\b/m);
      expect(run.stdout).toMatch(/^domain is 53\/tcp and 53\/udp\b/m);
    },
  );
});

describe("04-reverse-dns: an address to its names and back", () => {
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

  test.skipIf(!PRIVATE_HOSTS)(
    "spawned with a hosts file of its own: first name, aliases, ::ffff: form and zone (needs root, unshare)",
    async () => {
      await using hosts = privateHosts([
        "10.9.9.9 first.lab.test second.lab.test",
        "fe80::1 link.lab.test",
      ]);
      const options = { argvPrefix: hosts.argvPrefix };
      for (const address of ["10.9.9.9", "::ffff:10.9.9.9"]) {
        const run = await runLesson(REVERSE, ["--json", address], options);
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
      const zoned = await runLesson(REVERSE, ["fe80::1%lo"], options);
      expect(zoned.stderr).toBe("");
      expect(zoned.code).toBe(0);
      expect(zoned.stdout).toStartWith("fe80::1%lo is link.lab.test (aliases: none)\n");
      expect(zoned.stdout).toContain("the name leads back to the address");
    },
  );

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
        await expect(lookupAddress(bad, dns.address)).rejects.toThrow(
          `${JSON.stringify(bad)} is not an IP address: give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts).`,
        );
      }
      expect(dns.questions.length).toBe(before);
      const none = lookupAddress("10.0.0.7", dns.address);
      await expect(none).rejects.toThrow(NoNameError);
      await expect(none).rejects.toThrow(
        sentence(
          `10.0.0.7 has no name: DNS server ${dns.address} knows none (CODE); use the address.`,
        ),
      );
      const down = lookupAddress("10.0.0.1", `127.0.0.1:${silent.port}`);
      const error = await down.catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(NoNameError);
      expect((error as Error).message).toMatch(
        sentence(
          `DNS server 127.0.0.1:${silent.port} could not look up 10.0.0.1 (CODE): check that the server runs, and its address.`,
        ),
      );
    },
    SLOW_TEST_MS,
  );

  test("spawned: --help prints usage and exits 0", async () => {
    const run = await runLesson(REVERSE, ["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toStartWith("usage: bun run 01-basics/04-reverse-dns.ts [ADDRESS]");
  });

  test.skipIf(!HAS_LOCALHOST)(
    "spawned: no arguments names 127.0.0.1 through the system resolver",
    async () => {
      const names = [...new Set(HOSTS.get("127.0.0.1"))];
      const run = await runLesson(REVERSE);
      expect(run.code).toBe(0);
      expect(run.stdout).toStartWith(`127.0.0.1 is ${names[0]} (aliases: `);
      expect(run.stdout).toContain(`answered by ${SYSTEM_RESOLVER}\n`);
      const json = await runLesson(REVERSE, ["--json"]);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        address: "127.0.0.1",
        hostname: names[0],
        confirmed: true,
        answeredBy: SYSTEM_RESOLVER,
      });
    },
  );

  test("spawned: --server prints name, aliases, forward check and which server answered", async () => {
    const run = await runLesson(REVERSE, ["--server", dns.address, "10.0.0.1"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        "10.0.0.1 is www.lab.test (aliases: web.lab.test)",
        "www.lab.test resolves to 10.0.0.1, 10.0.0.2, fd00::1: the name leads back to the address",
        `answered by DNS server ${dns.address}`,
        "",
      ].join("\n"),
    );
    const stale = await runLesson(REVERSE, ["--server", dns.address, "--json", "10.0.0.9"]);
    expect(stale.code).toBe(0);
    expect(JSON.parse(stale.stdout)).toEqual({
      address: "10.0.0.9",
      hostname: "stale.lab.test",
      aliases: [],
      addresses: [],
      confirmed: false,
      answeredBy: `DNS server ${dns.address}`,
    });
    const text = await runLesson(REVERSE, ["--server", dns.address, "10.0.0.9"]);
    expect(text.stdout).toContain(
      "stale.lab.test resolves to nothing: the name does not lead back: do not trust it\n",
    );
  });

  test("spawned: an address with no name exits 1, an invalid one exits 2, with different sentences", async () => {
    const none = await runLesson(REVERSE, ["--server", dns.address, "10.0.0.7"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      sentence(
        `10.0.0.7 has no name: DNS server ${dns.address} knows none (CODE); use the address.`,
      ),
    );
    expect(none.stdout).toBe("");
    const cases: [string[], string][] = [
      [
        ["not-an-address"],
        '"not-an-address" is not an IP address: give one like 127.0.0.1 or ::1 (for a name, use 02-resolve.ts).',
      ],
      [["1.2.3.4", "5.6.7.8"], "give one address at a time."],
      [
        ["--server", "dns.lab.test:53", "10.0.0.1"],
        '--server "dns.lab.test:53" is not an IP address and port, like 127.0.0.1:5353 or [::1]:5353.',
      ],
      [["--bogus"], "Unknown option '--bogus'"],
    ];
    for (const [args, message] of cases) {
      const run = await runLesson(REVERSE, args);
      expect(run.code).toBe(2);
      expect(run.stderr.split("\n")[0]).toStartWith(message);
      expect(run.stderr).toContain("usage: bun run 01-basics/04-reverse-dns.ts");
      expect(run.stdout).toBe("");
    }
  });

  test(
    "spawned: a DNS server that never answers exits 1 with its own sentence",
    async () => {
      const run = await runLesson(REVERSE, ["--server", `127.0.0.1:${silent.port}`, "10.0.0.1"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        sentence(
          `DNS server 127.0.0.1:${silent.port} could not look up 10.0.0.1 (CODE): check that the server runs, and its address.`,
        ),
      );
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!PRIVATE)(
    "spawned in a private network: an address with no name through the system resolver is exit 1 (needs root, unshare, ip)",
    async () => {
      const run = await runLesson(REVERSE, ["192.0.2.123"], { argvPrefix: PRIVATE_NETWORK });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /^(192\.0\.2\.123 has no name: the system resolver \(\/etc\/hosts, then DNS\) knows none \([A-Z_]+\); use the address\.|the system resolver \(\/etc\/hosts, then DNS\) could not look up 192\.0\.2\.123 \([A-Z_]+\): check your network\.)$/m,
      );
    },
  );
});
