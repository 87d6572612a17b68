// 01-basics/dns-names.ts, what the name lessons (02, 03, 05) check before they send a query:
// the shape of a host name, and the address of a DNS server given to --server.
import { describe, expect, test } from "bun:test";
import { hostNameProblem, parseServer, summary } from "../../01-basics/dns-names.ts";

describe("dns-names.ts", () => {
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

  test("summary: the name, its canonical name if an alias, the addresses and how many of each", () => {
    const addresses = [
      { address: "10.0.0.1", family: 4 as const },
      { address: "fd00::1", family: 6 as const },
    ];
    expect(summary({ name: "www.lab.test", addresses, error: null })).toBe(
      "www.lab.test -> 10.0.0.1, fd00::1 (1 IPv4, 1 IPv6)",
    );
    expect(summary({ name: "a.lab.test", addresses, aliasOf: "www.lab.test", error: null })).toBe(
      "a.lab.test (an alias of www.lab.test) -> 10.0.0.1, fd00::1 (1 IPv4, 1 IPv6)",
    );
  });
});
