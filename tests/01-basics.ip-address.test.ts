/**
 * Lesson 01-basics/05-ip-address.ts and its module ipaddress.ts, graded against Python:
 * tests/fixtures/ip-addresses.json is what Python's own `ipaddress` answered
 * (tools/ip-fixture.py wrote it), and every answer of the lesson must equal it.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { EXAMPLES, formatReport, hostsRule, scopeInWords } from "../01-basics/05-ip-address.ts";
import {
  describe as describeIp,
  IpInputError,
  type NetworkReport,
  parseInput,
  type ReadAs,
  type Report,
} from "../01-basics/ipaddress.ts";
import { hasCommand, ROOT, runLesson } from "./helpers.ts";

const LESSON = "01-basics/05-ip-address.ts";

interface Fixture {
  python: string;
  entries: { input: string; as: ReadAs; expected: Report }[];
  verdicts: { input: string; address: boolean; interface: boolean; network: boolean }[];
}
const fixture = (await Bun.file(join(ROOT, "tests/fixtures/ip-addresses.json")).json()) as Fixture;

/** The report as the JSON the lesson prints, so `undefined` keys cannot hide a difference. */
const asJson = (report: Report): unknown => JSON.parse(JSON.stringify(report));

const expectedFor = (input: string, as: ReadAs = "auto"): Report => {
  const entry = fixture.entries.find((each) => each.input === input && each.as === as);
  if (!entry) throw new Error(`the fixture has no entry for ${input} read as ${as}`);
  return entry.expected;
};

/** What each bad input must say: one sentence, then the usage; exit code 2. */
const BAD_INPUTS: { args: string[]; input: string; as: Exclude<ReadAs, "auto">; says: string }[] = [
  {
    args: ["300.1.1.1"],
    input: "300.1.1.1",
    as: "address",
    says: '"300.1.1.1" is not an IPv4 address: 300 is more than 255.',
  },
  {
    args: ["1.2.3"],
    input: "1.2.3",
    as: "address",
    says: '"1.2.3" is not an IPv4 address: it has 3 dot-separated parts, and an IPv4 address has exactly 4 parts.',
  },
  {
    args: ["--as", "network", "10.0.0.1/8"],
    input: "10.0.0.1/8",
    as: "network",
    says: '"10.0.0.1/8" is not an IPv4 network: host bits are set (the network is 10.0.0.0/8; this is one address on it).',
  },
  {
    args: ["::g"],
    input: "::g",
    as: "address",
    says: '"::g" is not an IPv6 address: "g" is not a group of 1 to 4 hex digits.',
  },
  {
    args: [""],
    input: "",
    as: "address",
    says: "An empty string is not an IP address: give one like 192.0.2.1, an interface like 192.168.1.10/24 or a network like 2001:db8::/32.",
  },
  {
    args: ["01.2.3.4"],
    input: "01.2.3.4",
    as: "address",
    says: '"01.2.3.4" is not an IPv4 address: "01" has a leading zero.',
  },
  {
    args: ["1::2::3"],
    input: "1::2::3",
    as: "address",
    says: '"1::2::3" is not an IPv6 address: "::" may appear only once.',
  },
  {
    args: ["1.2.3.4/33"],
    input: "1.2.3.4/33",
    as: "interface",
    says: '"1.2.3.4/33" is not an IPv4 interface or network: "33" is not a prefix length from 0 to 32, nor a netmask like 255.255.255.0.',
  },
  {
    args: ["::1/129"],
    input: "::1/129",
    as: "interface",
    says: '"::1/129" is not an IPv6 interface or network: "129" is not a prefix length from 0 to 128.',
  },
  {
    args: ["1.2.3.4/255.0.255.0"],
    input: "1.2.3.4/255.0.255.0",
    as: "interface",
    says: '"1.2.3.4/255.0.255.0" is not an IPv4 interface or network: 255.0.255.0 is neither a netmask (ones, then zeros) nor a hostmask (zeros, then ones).',
  },
  {
    args: ["::ffff:1.2.3"],
    input: "::ffff:1.2.3",
    as: "address",
    says: '"::ffff:1.2.3" is not an IPv6 address: in its IPv4 part "1.2.3", it has 3 dot-separated parts, and an IPv4 address has exactly 4 parts.',
  },
  {
    args: ["localhost"],
    input: "localhost",
    as: "address",
    says: '"localhost" is not an IPv4 address: it looks like a host name, and 02-resolve.ts turns names into addresses.',
  },
  {
    args: ["70000"],
    input: "70000",
    as: "address",
    says: '"70000" is not an IPv4 address: it has no dots, and an IPv4 address has exactly 4 parts.',
  },
  {
    args: ["fe80::1%"],
    input: "fe80::1%",
    as: "address",
    says: '"fe80::1%" is not an IPv6 address: the zone after "%" is empty.',
  },
];

describe("the fixture is Python's answer", () => {
  test("it holds at least 40 inputs of every kind and both versions", () => {
    expect(fixture.python).toMatch(/^3\.\d+\.\d+$/);
    expect(fixture.entries.length).toBeGreaterThanOrEqual(40);
    for (const kind of ["address", "interface", "network"])
      for (const version of [4, 6])
        expect(
          fixture.entries.filter(
            ({ expected }) => expected.kind === kind && expected.version === version,
          ).length,
        ).toBeGreaterThanOrEqual(3);
    expect(fixture.verdicts.length).toBeGreaterThanOrEqual(40);
  });

  // The committed file must be exactly what the generator prints with this Python.
  const python = hasCommand("python3")
    ? Bun.spawnSync(["python3", "-c", "import platform; print(platform.python_version())"])
        .stdout.toString()
        .trim()
    : "";
  test.skipIf(python !== fixture.python)(
    `tools/ip-fixture.py --check agrees (needs python3 ${fixture.python}, the fixture's version)`,
    () => {
      const check = Bun.spawnSync(["python3", join(ROOT, "tools/ip-fixture.py"), "--check"]);
      expect(check.stdout.toString()).toContain("fixture is up to date");
      expect(check.exitCode).toBe(0);
    },
  );
});

describe("ipaddress.ts answers as Python does (in-process)", () => {
  test.each(fixture.entries.map((entry) => [entry.input, entry.as, entry.expected] as const))(
    "%s read as %s",
    (input, as, expected) => {
      expect(asJson(describeIp(input, as))).toStrictEqual(expected);
    },
  );

  test("it accepts and refuses exactly what Python does, with one sentence per refusal", () => {
    for (const verdict of fixture.verdicts) {
      for (const as of ["address", "interface", "network"] as const) {
        let refusal: unknown = null;
        try {
          parseInput(verdict.input, as);
        } catch (error) {
          refusal = error;
        }
        const accepted = refusal === null;
        expect({ input: verdict.input, as, accepted }).toEqual({
          input: verdict.input,
          as,
          accepted: verdict[as],
        });
        if (refusal === null) continue;
        expect(refusal).toBeInstanceOf(IpInputError);
        const message = (refusal as Error).message;
        expect(message).not.toContain("\n");
        expect(message).toEndWith(".");
        if (verdict.input !== "") expect(message).toStartWith(JSON.stringify(verdict.input));
      }
    }
  });

  test.each(BAD_INPUTS.map((bad) => [bad.input, bad] as const))(
    "bad input %p: exact sentence, and Python refuses it too",
    (_input, bad) => {
      const readAs = bad.args[0] === "--as" ? (bad.args[1] as ReadAs) : "auto";
      expect(() => describeIp(bad.input, readAs)).toThrow(new IpInputError(bad.says));
      const verdict = fixture.verdicts.find((each) => each.input === bad.input);
      expect(verdict?.[bad.as]).toBe(false);
    },
  );

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

describe("05-ip-address.ts run as a student would", () => {
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

  test("--help prints the usage and exits 0", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("usage: bun run 01-basics/05-ip-address.ts");
    expect(stdout).toContain("--as KIND");
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
      expect(stderr).toContain("usage: bun run 01-basics/05-ip-address.ts");
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
    const badKind = await runLesson(LESSON, ["--as", "subnet", "10.0.0.0/8"]);
    expect(badKind.stderr.split("\n")[0]).toBe(
      '--as takes auto, address, interface, network, not "subnet".',
    );
    expect(badKind.code).toBe(2);
    const unknown = await runLesson(LESSON, ["--verbose"]);
    expect(unknown.stderr).toContain("usage:");
    expect(unknown.code).toBe(2);
  });
});
