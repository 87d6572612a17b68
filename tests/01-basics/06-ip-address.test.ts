/**
 * Lesson 01-basics/06-ip-address.ts: how it puts ipaddress.ts's answers in words, and the
 * file run as a student would, its JSON equal to what Python's ipaddress answered.
 */
import { describe, expect, test } from "bun:test";
import { EXAMPLES, formatReport } from "../../01-basics/06-ip-address.ts";
import {
  describe as describeIp,
  hostsRule,
  type NetworkReport,
  scopeInWords,
} from "../../01-basics/ipaddress.ts";
import { expectHelpMatchesRun, expectUsageError, runLesson } from "../helpers.ts";
import { asJson, BAD_INPUTS, expectedFor } from "./ip-fixture.ts";

const LESSON = "01-basics/06-ip-address.ts";

describe("06-ip-address in-process", () => {
  test("usable hosts follow Python's hosts(): /31 and /127 use both, /32 and /128 the one", () => {
    const network = (input: string): NetworkReport => {
      const report = expectedFor(input);
      if (report.kind !== "network") throw new Error(`${input} is not a network in the fixture`);
      return report;
    };
    expect(network("192.168.1.0/24").hosts).toEqual({
      count: "254",
      first: "192.168.1.1",
      last: "192.168.1.254",
    });
    expect(hostsRule(network("192.168.1.0/31"))).toStartWith("both");
    expect(hostsRule(network("192.168.1.7/32"))).toBe("the one address");
    expect(hostsRule(network("2001:db8::/127"))).toStartWith("both");
    expect(hostsRule(network("2001:db8::1/128"))).toBe("the one address");
    expect(hostsRule(network("2001:db8::/64"))).toContain("Subnet-Router anycast");
    expect(hostsRule(network("10.0.0.0/8"))).toBe("all but the network and broadcast addresses");
  });

  test("the scope in words follows the flags (224.0.0.1 is multicast though is_global)", () => {
    const words = (input: string): string => {
      const report = describeIp(input);
      if (report.kind === "interface") throw new Error("expected an address or network");
      return scopeInWords(report);
    };
    expect(words("224.0.0.1")).toStartWith("multicast");
    expect(words("127.0.0.1")).toStartWith("loopback");
    expect(words("0.0.0.0")).toStartWith("unspecified");
    expect(words("fe80::1")).toStartWith("link-local");
    expect(words("8.8.8.8")).toStartWith("global");
    expect(words("192.168.1.10")).toStartWith("private");
    expect(words("100.64.0.0/10")).toStartWith("neither private nor global");
  });

  test("the text report shows an interface as its address and its network", () => {
    const text = formatReport(describeIp("192.168.1.10/24"));
    expect(text).toStartWith("192.168.1.10/24: an IPv4 interface");
    expect(text).toContain("  address 192.168.1.10\n");
    expect(text).toContain("  network 192.168.1.0/24\n");
    expect(text).toMatch(/reverse pointer +10\.1\.168\.192\.in-addr\.arpa/);
    expect(text).toMatch(/broadcast +192\.168\.1\.255/);
    expect(text).toMatch(/usable hosts +254, all but the network and broadcast addresses/);
    expect(text).toMatch(/first, last host +192\.168\.1\.1, 192\.168\.1\.254/);
    expect(formatReport(describeIp("::ffff:192.0.2.1"))).toMatch(
      /IPv4-mapped +the IPv4 192\.0\.2\.1/,
    );
    expect(formatReport(describeIp("2002:c000:204::1"))).toMatch(
      /6to4 +tunnels to the IPv4 192\.0\.2\.4/,
    );
  });
});

describe("06-ip-address as a student runs it", () => {
  test("with no arguments it explains a few instructive examples", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("127.0.0.1: an IPv4 address");
    expect(stdout).toContain("192.168.1.10/24: an IPv4 interface");
    expect(stdout).toContain("2001:db8::1/64: an IPv6 interface");
    expect(stdout).toMatch(/usable hosts +254,/);
  });

  test("--json with no arguments prints the examples as one JSON array", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual(EXAMPLES.map((text) => asJson(describeIp(text))));
  });

  test("--help prints the usage its header promises, and exits 0", async () => {
    const help = await expectHelpMatchesRun(LESSON);
    expect(help).toContain("--as auto|address|interface|network");
  });

  test("--json for one input prints Python's answer as one object", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--json", "fe80::1%eth0/64"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual(expectedFor("fe80::1%eth0/64"));
  });

  test("--json for several inputs prints Python's answers as an array, in order", async () => {
    const inputs = [
      "0.0.0.0",
      "100.64.0.0/10",
      "::ffff:192.0.2.1",
      "2001:db8::/127",
      "10.0.0.5/31",
    ];
    const { code, stdout } = await runLesson(LESSON, ["--json", ...inputs]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toStrictEqual(inputs.map((input) => expectedFor(input)));
  });

  test("--as network and --as interface read a lone address with its full prefix", async () => {
    const asNetwork = await runLesson(LESSON, ["--json", "--as", "network", "192.0.2.1"]);
    expect(JSON.parse(asNetwork.stdout)).toStrictEqual(expectedFor("192.0.2.1", "network"));
    const asInterface = await runLesson(LESSON, ["--json", "--as", "interface", "10.0.0.0/8"]);
    expect(JSON.parse(asInterface.stdout)).toStrictEqual(expectedFor("10.0.0.0/8", "interface"));
  });

  test.each(BAD_INPUTS.map((bad) => [bad.args.join(" "), bad] as const))(
    "bad input %p: one sentence and the usage on stderr, exit 2",
    async (_args, bad) => {
      const { code, stdout, stderr } = await runLesson(LESSON, bad.args);
      expect(stderr.split("\n")[0]).toBe(bad.says);
      expect(stderr).toContain("usage: bun run 01-basics/06-ip-address.ts");
      expect(stderr).not.toContain("    at "); // no stack trace
      expect(stdout).toBe("");
      expect(code).toBe(2);
    },
  );

  test("one bad input among good ones: nothing is printed but the error", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, ["10.0.0.0/8", "300.1.1.1"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe('"300.1.1.1" is not an IPv4 address: 300 is more than 255.');
  });

  test("bad flags: an unknown --as value or option is a usage error, exit 2", async () => {
    await expectUsageError(
      LESSON,
      ["--as", "subnet", "10.0.0.0/8"],
      '--as must be auto, address, interface or network (got "subnet")',
    );
    await expectUsageError(LESSON, ["--verbose"], "unknown flag --verbose: see the list below");
  });
});
