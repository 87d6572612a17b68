/**
 * What the two tests of the IP address lesson share (not a test file itself): the fixture
 * Python's own `ipaddress` wrote (tests/fixtures/ip-addresses.json, by tools/ip-fixture.py),
 * and the bad inputs with the one sentence each must get.
 */
import { join } from "node:path";
import type { ReadAs, Report } from "../../01-basics/ipaddress.ts";
import { ROOT } from "../helpers.ts";

export interface Fixture {
  python: string;
  entries: { input: string; as: ReadAs; expected: Report }[];
  verdicts: { input: string; address: boolean; interface: boolean; network: boolean }[];
}
export const fixture = (await Bun.file(
  join(ROOT, "tests/fixtures/ip-addresses.json"),
).json()) as Fixture;

/** The report as the JSON the lesson prints, so `undefined` keys cannot hide a difference. */
export const asJson = (report: Report): unknown => JSON.parse(JSON.stringify(report));

export const expectedFor = (input: string, as: ReadAs = "auto"): Report => {
  const entry = fixture.entries.find((each) => each.input === input && each.as === as);
  if (!entry) throw new Error(`the fixture has no entry for ${input} read as ${as}`);
  return entry.expected;
};

/** What each bad input must say: one sentence, then the usage; exit code 2. */
export const BAD_INPUTS: {
  args: string[];
  input: string;
  as: Exclude<ReadAs, "auto">;
  says: string;
}[] = [
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
