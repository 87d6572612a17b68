// Lesson 01-basics/04-service-name.ts: ports to service names and back, from a services
// database. A small database of the test's own keeps the answers the same on every machine;
// the machine's /etc/services (Debian package netbase) is read only where it exists.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explain, findServices } from "../../01-basics/04-service-name.ts";
import {
  loadServices,
  parseQuery,
  parseServices,
  type ServiceEntry,
} from "../../01-basics/ports.ts";
import { Explained, UsageError } from "../../lib/cli.ts";
import { expectHelpMatchesRun, expectUsageError, runLesson } from "../helpers.ts";

const LESSON = "01-basics/04-service-name.ts";
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

let workDir = "";
let servicesFile = "";
let entries: ServiceEntry[] = [];
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "sockets-lab-services-"));
  servicesFile = join(workDir, "services");
  writeFileSync(servicesFile, SERVICES);
  entries = loadServices(servicesFile);
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const lookUp = (text: string): string => {
  const query = parseQuery(text, entries);
  return explain(text, query, findServices(query, entries), servicesFile);
};

describe("04-service-name in-process", () => {
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
    // A mistake in the input: lib's usage error, exit 2 when run.
    expect(() => parseQuery("a b", entries)).toThrow(UsageError);
    expect(parseQuery("0/udp", entries)).toEqual({ port: 0, protocol: "udp" });
  });

  test("a missing database is an Explained error (exit 1, not 2) that says what to do", () => {
    const missing = join(workDir, "no-such-services");
    expect(() => loadServices(missing)).toThrow(Explained);
    expect(() => loadServices(missing)).toThrow(
      `cannot read the services database ${missing} (ENOENT): check the path given to --services.`,
    );
  });

  test("a database with no service line is an Explained error, not 'no such service' for all", async () => {
    const empty = join(workDir, "empty-services");
    writeFileSync(empty, "# only a comment\n\nnot a service line\n");
    const sentence = `${empty} holds no service lines (like "ssh 22/tcp"): check the path given to --services.`;
    expect(() => loadServices(empty)).toThrow(Explained);
    expect(() => loadServices(empty)).toThrow(sentence);
    const run = await runLesson(LESSON, ["--services", empty, "22/tcp"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${sentence}\n`);
    expect(run.stdout).toBe("");
  });

  test.skipIf(!existsSync("/etc/services"))(
    "the machine's /etc/services names ssh and domain (Debian package netbase)",
    () => {
      const system = loadServices("/etc/services");
      expect(
        findServices({ port: 22, protocol: "tcp" }, system).map((entry) => entry.name),
      ).toContain("ssh");
      expect(findServices({ name: "domain" }, system).map((entry) => entry.protocol)).toEqual(
        expect.arrayContaining(["tcp", "udp"]),
      );
    },
  );
});

describe("04-service-name as a student runs it", () => {
  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });

  test("the default queries, several queries in text and in JSON", async () => {
    const defaults = await runLesson(LESSON, ["--services", servicesFile]);
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toBe(
      "22/tcp is ssh\n53 is domain on tcp and domain on udp\ndomain is 53/tcp and 53/udp\nwww is 80/tcp (as http)\n",
    );
    const json = await runLesson(LESSON, ["--services", servicesFile, "--json", "mail", "25/tcp"]);
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

  test("no such service is one sentence on stderr and exit 1", async () => {
    const run = await runLesson(LESSON, ["--services", servicesFile, "12345/tcp", "ssh"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `no service is registered for 12345/tcp in ${servicesFile}: the port has no name, which does not mean it is unused.\n`,
    );
    expect(run.stdout).toBe("ssh is 22/tcp\n");
  });

  test("bad input exits 2 with one sentence and the usage; a missing file exits 1", async () => {
    const cases: [string, string][] = [
      ["70000", "70000 is not a port number: ports run from 0 to 65535."],
      [
        "abc/tcp",
        '"abc/tcp" is not PORT/PROTOCOL (22/tcp), a PORT (53) or a service name (domain).',
      ],
      ["22/xyz", '"xyz" is not a protocol in the services database: use one of tcp, udp, sctp.'],
    ];
    for (const [query, sentence] of cases) {
      await expectUsageError(LESSON, ["--services", servicesFile, query], sentence);
    }
    await expectUsageError(LESSON, ["--port", "22"], "unknown flag --port: see the list below");
    await expectUsageError(LESSON, ["--services"], "--services needs a value");
    const missing = join(workDir, "missing");
    const run = await runLesson(LESSON, ["--services", missing, "22/tcp"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `cannot read the services database ${missing} (ENOENT): check the path given to --services.\n`,
    );
  });

  test.skipIf(!existsSync("/etc/services"))(
    "with no flags it reads /etc/services (Debian package netbase)",
    async () => {
      const run = await runLesson(LESSON, ["22/tcp", "domain"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^22\/tcp is ssh\b/m);
      expect(run.stdout).toMatch(/^domain is 53\/tcp and 53\/udp\b/m);
    },
  );
});
