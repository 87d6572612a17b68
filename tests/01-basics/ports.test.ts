// 01-basics/ports.ts, what the two scan lessons (07, 08) share: the port list they take,
// the service names of open ports, and the report they print.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Answer, parsePorts, scanReport, tcpServiceNames } from "../../01-basics/ports.ts";

let workDir = "";
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), "sockets-lab-ports-"));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe("ports.ts: the port list", () => {
  test("parsePorts takes ports and ranges, sorts them and drops repeats", () => {
    expect(parsePorts("80,22,8000-8003,22,8002")).toEqual([22, 80, 8000, 8001, 8002, 8003]);
    expect(parsePorts("1-1024")).toHaveLength(1024);
    expect(parsePorts("65535")).toEqual([65535]);
    expect(parsePorts(" 7 , 9 ")).toEqual([7, 9]);
  });

  test.each([
    ["1-x", `"1-x" is not a port or a range: write e.g. 22,80,8000-8100.`],
    ["70000", "port 70000 is out of range: use 1 to 65535."],
    ["0", "port 0 is out of range: use 1 to 65535."],
    ["100-1", "range 100-1 runs backwards: write 1-100."],
    ["80,", `"" is not a port or a range: write e.g. 22,80,8000-8100.`],
  ])("parsePorts(%p) throws one sentence", (spec, sentence) => {
    expect(() => parsePorts(spec)).toThrow(sentence);
  });

  test("tcpServiceNames reads name and port per line, first name wins, tcp only", () => {
    const file = join(workDir, "services");
    writeFileSync(
      file,
      "# comment\nssh\t\t22/tcp\t# SSH\nhttp 80/tcp www\nwww-alt 80/tcp\nntp 123/udp\n",
    );
    const names = tcpServiceNames(file);
    expect([...names.entries()].sort()).toEqual([
      [22, "ssh"],
      [80, "http"],
    ]);
    expect(tcpServiceNames(join(workDir, "no-such-file")).size).toBe(0);
  });

  test("scanReport counts each answer once: self-connects are closed, and counted apart", () => {
    const ports = [22, 80, 443, 40000, 9];
    const answers: Answer[] = ["open", "closed", "filtered", "self-connect", "closed"];
    const report = scanReport("example.test", "192.0.2.1", ports, (i) => answers[i], 0);
    const names = tcpServiceNames();
    expect(report).toMatchObject({
      host: "example.test",
      address: "192.0.2.1",
      open: [{ port: 22, service: names.get(22) ?? null }],
      closed: 3,
      filtered: [443],
      selfConnects: 1,
    });
    expect(Number.isInteger(report.elapsedMs)).toBe(true);
  });
});
