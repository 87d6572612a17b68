// 01-resolve: a name becomes its addresses before any connection. No DNS server is asked:
// unknown names come from an injected resolver, `.invalid`, or a private network namespace
// where no DNS server answers.
import { describe, expect, test } from "bun:test";
import {
  invalidHostMessage,
  isValidHost,
  type Resolver,
  resolveHost,
} from "../../03-http-client/01-resolve.ts";
import { canUsePrivateNetwork, PRIVATE_NETWORK, runLesson } from "../helpers.ts";

const FILE = "03-http-client/01-resolve.ts";
const notFound = (name: string): string =>
  `cannot find the host "${name}": no such name (check the spelling, or give an IP address)`;
const offline = (name: string): string =>
  `could not look up "${name}": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts`;
const privateNetwork = await canUsePrivateNetwork();

describe("01-resolve: names to addresses", () => {
  test("an IP literal is its own answer, and the resolver is not asked", async () => {
    let asked = 0;
    const resolver: Resolver = async () => {
      asked++;
      return [];
    };
    expect(await resolveHost("127.0.0.1", resolver)).toEqual([{ address: "127.0.0.1", family: 4 }]);
    expect(await resolveHost("[::1]", resolver)).toEqual([{ address: "::1", family: 6 }]);
    expect(asked).toBe(0);
  });

  test("localhost resolves from /etc/hosts; the resolver's order is kept", async () => {
    const addresses = await resolveHost("localhost");
    expect(addresses.length).toBeGreaterThan(0);
    for (const { address } of addresses) expect(["127.0.0.1", "::1"]).toContain(address);
    const answer = [
      { address: "2001:db8::1", family: 6 },
      { address: "192.0.2.7", family: 4 },
    ];
    expect(await resolveHost("www.example.com", async () => answer)).toEqual([
      { address: "2001:db8::1", family: 6 },
      { address: "192.0.2.7", family: 4 },
    ]);
  });

  test("unknown hosts: from the resolver, or under .invalid without asking anyone; offline is said so", async () => {
    let asked = 0;
    const failing: Resolver = async () => {
      asked++;
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    await expect(resolveHost("no-such-host.example", failing)).rejects.toThrow(
      notFound("no-such-host.example"),
    );
    await expect(resolveHost("nothing.invalid", failing)).rejects.toThrow(
      notFound("nothing.invalid"),
    );
    await expect(resolveHost("empty.example", async () => [])).rejects.toThrow(
      notFound("empty.example"),
    );
    expect(asked).toBe(1);
    // EAI_AGAIN is "no DNS server answered", not "no such name": lib's sentence says which.
    const again = Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" });
    await expect(resolveHost("far.example", () => Promise.reject(again))).rejects.toThrow(
      offline("far.example"),
    );
  });

  test("hostile or malformed names are refused before any look-up", async () => {
    let asked = 0;
    const resolver: Resolver = async () => {
      asked++;
      return [{ address: "192.0.2.1", family: 4 }];
    };
    const bad = ["bad_host!", "-lead.example", "a..b", "", "x y", `${"a".repeat(64)}.com`, "a/b"];
    for (const host of [...bad, "host\r\nX: 1"]) {
      expect(isValidHost(host)).toBe(false);
      await expect(resolveHost(host, resolver)).rejects.toThrow(invalidHostMessage(host));
    }
    const good = ["example.com", "localhost", "a-b.c0", "example.com.", "::1", "[::1]", "10.0.0.1"];
    for (const host of good)
      expect({ host, valid: isValidHost(host) }).toEqual({ host, valid: true });
    expect(asked).toBe(0);
    expect(invalidHostMessage("bad_host!")).toBe(
      '"bad_host!" is not a valid host name: use letters, digits, hyphens and dots (like example.com) or an IP address',
    );
  });

  test("run as a student: localhost by default, --json, and the errors", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      "(no --host given: resolving localhost; try --host example.com)",
    );
    expect(plain.stdout).toMatch(
      /localhost has \d address\(es\), found in [\d.]+ ms:\n {2}(127\.0\.0\.1 {2}\(IPv4\)|::1 {2}\(IPv6\))/,
    );

    const json = await runLesson(FILE, ["--host", "::1", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      host: "::1",
      addresses: [{ address: "::1", family: 6 }],
    });

    const unknown = await runLesson(FILE, ["--host", "nothing.invalid"]);
    expect({ code: unknown.code, stdout: unknown.stdout, err: unknown.stderr.trim() }).toEqual({
      code: 1,
      stdout: "",
      err: notFound("nothing.invalid"),
    });

    const bad = await runLesson(FILE, ["--host", "bad_host!"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith(`${invalidHostMessage("bad_host!")}\n\nusage: `);
    const extra = await runLesson(FILE, ["example.com"]);
    expect({ code: extra.code, first: extra.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: "unexpected word example.com: this program takes flags only",
    });
  });

  test.skipIf(!privateNetwork)(
    "offline (a private network namespace, where no DNS server answers): lib's sentence, not a raw EAI_AGAIN (needs root for unshare)",
    async () => {
      const run = await runLesson(FILE, ["--host", "example.com"], { argvPrefix: PRIVATE_NETWORK });
      expect({ code: run.code, err: run.stderr.trim() }).toEqual({
        code: 1,
        err: offline("example.com"),
      });
    },
  );
});
