/**
 * 01-basics/ipaddress.ts, the chapter's module, graded against Python:
 * tests/fixtures/ip-addresses.json is what Python's own `ipaddress` answered
 * (tools/ip-fixture.py wrote it), and every answer of the module must equal it.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  describe as describeIp,
  IpInputError,
  parseInput,
  type ReadAs,
} from "../../01-basics/ipaddress.ts";
import { hasCommand, ROOT } from "../helpers.ts";
import { asJson, BAD_INPUTS, fixture } from "./ip-fixture.ts";

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
});
