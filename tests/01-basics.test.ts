// Chapter 01-basics, lesson 01-hostname. The other lessons of the chapter have their own
// files: 01-basics.dns.test.ts, 01-basics.ip-address.test.ts, 01-basics.scan.test.ts.
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { describeHost, interfaceAddresses } from "../01-basics/01-hostname.ts";
import { runLesson } from "./helpers.ts";

const LESSON = "01-basics/01-hostname.ts";

describe("01-hostname in-process", () => {
  test("interfaceAddresses lists loopback, IPv4 and IPv6, marked internal", () => {
    const addresses = interfaceAddresses();
    const v4 = addresses.find((entry) => entry.address === "127.0.0.1");
    expect(v4).toMatchObject({ family: "IPv4", internal: true, cidr: "127.0.0.1/8" });
    expect(addresses.every((entry) => entry.family === "IPv4" || entry.family === "IPv6")).toBe(
      true,
    );
  });

  test("describeHost names this machine and resolves it through the system resolver", async () => {
    const report = await describeHost();
    expect(report.hostname).toBe(hostname());
    // The machine's own name is in /etc/hosts here, so no DNS query leaves the machine.
    expect(report.resolveError).toBeNull();
    expect(report.resolved.length).toBeGreaterThan(0);
  });

  test("describeHost('localhost') answers 127.0.0.1 from /etc/hosts", async () => {
    const report = await describeHost("localhost");
    expect(report.resolved.map((entry) => entry.address)).toContain("127.0.0.1");
    expect(report.resolved.every((entry) => entry.family === 4 || entry.family === 6)).toBe(true);
  });
});

describe("01-hostname as a student runs it", () => {
  test("prints the host name and the loopback addresses", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain(`host name: ${hostname()}`);
    expect(stdout).toMatch(/lo\s+127\.0\.0\.1\/8\s+IPv4, loopback/);
  });

  test("--json prints one JSON document with the same facts", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Awaited<ReturnType<typeof describeHost>>;
    expect(report.hostname).toBe(hostname());
    expect(report.interfaces.some((entry) => entry.address === "::1")).toBe(true);
  });

  test("--help prints usage and exits 0", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--help"]);
    expect(code).toBe(0);
    expect(stdout).toStartWith("usage: bun run 01-basics/01-hostname.ts");
  });

  test("an unknown flag is one sentence and exit 2", async () => {
    const { code, stdout, stderr } = await runLesson(LESSON, ["--bogus"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith("Unknown option '--bogus'");
    expect(stderr).not.toContain("    at ");
  });
});
