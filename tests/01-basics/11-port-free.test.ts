// Lesson 01-basics/11-port-free.ts: is a port free for a TCP server, found by trying to
// listen on it. The ports tried are ones the test holds, or held a moment ago; port 5000, the
// lesson's default, only inside a private network namespace, where nothing else listens.
import { describe, expect, test } from "bun:test";
import { checkFree, ownAddresses } from "../../01-basics/11-port-free.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  expectHelpMatchesRun,
  expectUsageError,
  inUse,
  PRIVATE_NETWORK,
  runLesson,
} from "../helpers.ts";
import { listen } from "./common.ts";

const LESSON = "01-basics/11-port-free.ts";
const PRIVATE = await canUsePrivateNetwork();

describe("11-port-free in-process", () => {
  test("checkFree: a port we hold is in use, a port we let go is free", async () => {
    await using held = listen();
    expect(checkFree(held.port)).toEqual({
      port: held.port,
      use: "in use",
      why: inUse(held.port, "0.0.0.0"),
    });
    const port = closedPort();
    expect(checkFree(port)).toEqual({
      port,
      use: "free",
      why: `port ${port} is free: a TCP server can listen on it`,
    });
  });

  test("checkFree: a port taken on one family only (::1 or 127.0.0.1) is in use", async () => {
    for (const hostname of ["::1", "127.0.0.1"]) {
      await using listener = listen(hostname);
      expect({ hostname, use: checkFree(listener.port).use }).toEqual({ hostname, use: "in use" });
    }
  });

  test("checkFree asks about TCP: a port held by a UDP socket only is free for a TCP server", async () => {
    // A port free for TCP a moment ago (a random UDP port may be a TCP client's port too).
    const port = closedPort();
    const udp = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port,
      socket: { data() {}, error() {} },
    });
    try {
      expect(checkFree(port).use).toBe("free");
    } finally {
      udp.close();
    }
  });

  test("ownAddresses: every address on this machine's interfaces, loopback included", () => {
    const addresses = ownAddresses();
    expect(addresses).toContain("127.0.0.1");
    expect(addresses).toContain("::1");
  });
});

describe("11-port-free as a student runs it", () => {
  test.skipIf(!PRIVATE)(
    "no --port: where a server can listen, and port 5000 free, exit 0 (needs root, unshare, ip)",
    async () => {
      // Inside a private namespace port 5000 is surely free, and loopback the only interface.
      const { code, stdout, stderr } = await runLesson(LESSON, [], { argvPrefix: PRIVATE_NETWORK });
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toBe(
        "a server here can listen on 127.0.0.1, ::1, or on all of them: 0.0.0.0 and ::\nport 5000 is free: a TCP server can listen on it\n",
      );
    },
  );

  test("a port of ours is in use (stderr, exit 1); one we let go is free (JSON, exit 0)", async () => {
    await using listener = listen();
    const taken = await runLesson(LESSON, ["--port", `${listener.port}`]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`${inUse(listener.port, "0.0.0.0")}\n`);
    expect(taken.stdout).toStartWith("a server here can listen on 127.0.0.1, ");
    const port = closedPort();
    const free = await runLesson(LESSON, ["--port", `${port}`, "--json"]);
    expect(free.code).toBe(0);
    const report = JSON.parse(free.stdout) as { addresses: string[]; ports: unknown[] };
    expect(report.addresses).toEqual(ownAddresses());
    expect(report.ports).toEqual([
      { port, use: "free", why: `port ${port} is free: a TCP server can listen on it` },
    ]);
  });

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--port", "65536"], '--port must be a whole number from 1 to 65535 (got "65536")'],
    [
      ["--port", "5000", "--port", "http"],
      '--port must be a whole number from 1 to 65535 (got "http")',
    ],
    // Defect: parseArgs took "-1" for a flag and printed three lines about an ambiguous option.
    [["--port", "-1"], '--port must be a whole number from 1 to 65535 (got "-1")'],
    [["--free", "5000"], "unknown flag --free: see the list below"],
    [["5000"], "unexpected word 5000: this program takes flags only"],
  ])("bad arguments %p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(LESSON, args, sentence);
  });

  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });
});
