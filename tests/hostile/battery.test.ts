// The hostile battery: every server of the book (every lesson with `@serves` in its header),
// attacked over loopback by clients that misbehave on purpose, each attack bounded in count
// and time. A server passes when it is still alive and serving afterwards, keeps its memory
// under the bound it states (`@limits memory`), sheds idle clients where it promises to
// (`@limits idle`), never answers a datagram with more than it got, never loops, and stops
// within a second on SIGINT and SIGTERM. A server that serves one client (`@limits clients`)
// or one at a time (`@limits one at a time`) is held to that promise instead, and the test
// says so in its name.
//
// The figures (peak RSS, latency under slowloris, datagrams after a forged one) go to
// .reports/hostile.md and .reports/hostile.json; `bun run bench` prints them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lesson, Probe } from "../../tools/catalog.ts";
import {
  canUsePrivateNetwork,
  hasCommand,
  PRIVATE_NETWORK,
  ROOT,
  startLesson,
} from "../helpers.ts";
import {
  attack,
  BATTERY_IDLE_SECONDS,
  batteryArgs,
  Bystander,
  peakRss,
  type Running,
  rssMiB,
  SERVERS,
  startServer,
  tcpExchange,
  udpExchange,
} from "./servers.ts";

/** Each test's own limit: bun applies the preload's default to the first test file only. */
const LIMIT_MS = 60_000;
/** "Served quickly": a normal client's exchange while an attack goes on. */
const QUICK_MS = 1_000;

const privateNetwork = await canUsePrivateNetwork();
const canForge = privateNetwork && hasCommand("nsenter") && hasCommand("python3");

interface Figure {
  server: string;
  attack: string;
  figure: string;
}
const figures: Figure[] = [];
const note = (lesson: Lesson, what: string, figure: string): void => {
  figures.push({ server: lesson.file, attack: what, figure });
};

afterAll(() => {
  mkdirSync(join(ROOT, ".reports"), { recursive: true });
  writeFileSync(join(ROOT, ".reports/hostile.json"), `${JSON.stringify(figures, null, 2)}\n`);
  const rows = figures.map((row) => `| ${row.server} | ${row.attack} | ${row.figure} |`);
  const table = ["| server | attack | figure |", "| --- | --- | --- |", ...rows].join("\n");
  writeFileSync(join(ROOT, ".reports/hostile.md"), `# The hostile battery\n\n${table}\n`);
});

test("the battery finds the book's servers in the lessons' headers", () => {
  expect(SERVERS.length).toBeGreaterThan(5);
  for (const lesson of SERVERS) {
    // Every promise the battery checks needs a number the lesson stands by.
    expect({ file: lesson.file, memory: lesson.limits.memoryMiB !== undefined }).toEqual({
      file: lesson.file,
      memory: true,
    });
  }
});

/** Asserts the server process is still running, showing its output if not. */
function expectAlive(server: Running): void {
  const { proc, stdout, stderr } = server.lesson;
  expect({
    exited: proc.exitCode ?? proc.signalCode,
    stderr: proc.exitCode === null ? "" : `${stdout}\n${stderr}`,
  }).toEqual({
    exited: null,
    stderr: "",
  });
}

/** A server that serves N clients then exits: it must exit 0, with no stack trace. */
async function expectCleanExit(server: Running): Promise<void> {
  const { code, stderr } = await server.lesson.finished(10_000);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
}

for (const lesson of SERVERS) {
  const { clients, oneAtATime, idleFlag, dripSeconds, memoryMiB = 0 } = lesson.limits;
  const tcpProbes = lesson.serves.filter((probe) => probe.protocol === "tcp");
  const udpProbes = lesson.serves.filter((probe) => probe.protocol === "udp");

  describe(`${lesson.file} under attack`, () => {
    if (clients !== undefined) describeOneShot(lesson, clients, memoryMiB);
    else {
      let server: Running;
      beforeAll(async () => {
        server = await startServer(lesson);
      });
      afterAll(async () => {
        await server?.lesson[Symbol.asyncDispose]();
      });

      tcpProbes.forEach((probe, index) => {
        const at = (): { host: string; port: number } => {
          const found = server.endpoints.filter((entry) => entry.probe.protocol === "tcp")[index];
          if (!found) throw new Error(`no endpoint for ${probe.text}`);
          return found;
        };
        const where = tcpProbes.length > 1 ? ` (tcp #${index + 1})` : "";

        test(
          `300 connects closed with a reset, then a client is served${where}`,
          async () => {
            const { host, port } = at();
            const result = await attack(["resets", host, port, 300]);
            expect(result.reset).toBe(300);
            const ms = await tcpExchange(host, port, probe);
            expectAlive(server);
            note(lesson, "300 resets, then a client", `served in ${ms.toFixed(1)} ms`);
          },
          LIMIT_MS,
        );

        test(
          oneAtATime
            ? `200 slowloris connections: one at a time by design, the client being served is unaffected and the next is served once they leave${where}`
            : `200 slowloris connections (one byte a second, no newline): a client is served quickly${idleFlag ? ", and the drips are shed after the idle limit" : ", and the server closes every drip"}${where}`,
          async () => {
            const { host, port } = at();
            const bystander = oneAtATime ? await Bystander.connect(host, port, probe) : undefined;
            if (bystander) await bystander.exchange();
            // Long enough for the server's promise to act: its idle limit (set short for the
            // battery) or its own drip limit, then a few seconds to see the drips closed.
            const seconds = Math.max(BATTERY_IDLE_SECONDS, dripSeconds ?? 0) + 4;
            let during = Number.NaN;
            const dripping = attack(["drip", host, port, 200, seconds], {
              onLine: (line) => {
                if (!line.includes("dripping")) return;
                const check = bystander ? bystander.exchange() : tcpExchange(host, port, probe);
                void check.then(
                  (ms) => {
                    during = ms;
                  },
                  () => {},
                );
              },
            });
            const result = await dripping;
            expect(result.dripped).toBe(200);
            expect(during).toBeLessThan(QUICK_MS);
            if (bystander) {
              bystander.close();
              await tcpExchange(host, port, probe);
            } else expect(result.closed_by_server).toBe(200);
            expectAlive(server);
            note(
              lesson,
              "200 slowloris",
              `a client served in ${during.toFixed(1)} ms during them; ${result.closed_by_server} of 200 closed by the server (last after ${result.last_closed_after_s ?? "-"} s)`,
            );
          },
          LIMIT_MS,
        );

        test(
          `a client that sends requests as fast as it can and never reads: RSS stays under ${memoryMiB} MiB, and a client using the server meanwhile is served quickly${where}`,
          async () => {
            const { host, port } = at();
            const request = Buffer.from(probe.request.length ? probe.request : Buffer.from("x\n"));
            const watching = await watchWhile(host, port, probe, oneAtATime);
            const flooding = attack(["flood", host, port, request.toString("hex"), 3]);
            const { result, peakMiB } = await peakRss(server.pid, flooding);
            const other = await watching.stop();
            expect(peakMiB).toBeLessThan(memoryMiB);
            expect(other.failure).toBeUndefined();
            expect(other.worstMs).toBeLessThan(QUICK_MS);
            expectAlive(server);
            note(
              lesson,
              "flood, never reads",
              `${Math.round(Number(result.sent_bytes) / 1024 / 1024)} MiB sent in ${result.seconds} s; peak RSS ${peakMiB.toFixed(0)} MiB (bound ${memoryMiB}); another client's slowest reply ${other.worstMs.toFixed(1)} ms (${other.exchanges} exchanges)`,
            );
          },
          LIMIT_MS,
        );

        test(
          `a 1 MiB line, 10 MiB without a newline, binary garbage, a half-close after half a line: still serving, and a client using the server meanwhile is unaffected${where}`,
          async () => {
            const { host, port } = at();
            const watching = await watchWhile(host, port, probe, oneAtATime);
            const result = await attack(["lines", host, port]);
            const other = await watching.stop();
            expect(other.failure).toBeUndefined();
            expect(other.worstMs).toBeLessThan(QUICK_MS);
            await tcpExchange(host, port, probe);
            expectAlive(server);
            const replies = Object.entries(result).map(
              ([name, seen]) =>
                `${name}: ${JSON.stringify((seen as { first_line?: string }).first_line ?? "")}`,
            );
            note(
              lesson,
              "bad lines",
              `${replies.join("; ")}; another client's slowest reply ${other.worstMs.toFixed(1)} ms`,
            );
          },
          LIMIT_MS,
        );

        test(
          oneAtATime
            ? `5000 connect/close cycles, then 2000 idle connections held at once: one at a time by design, the client being served is unaffected, and the next is served after${where}`
            : `5000 connect/close cycles, then 2000 idle connections held at once: a client is still served${where}`,
          async () => {
            const { host, port } = at();
            const cycles = await attack(["cycles", host, port, 5000]);
            expect(cycles.cycles).toBe(5000);
            // Another client uses the server all through the hold (for a server that serves
            // one at a time, the one whose turn it is), so its idle limit never sheds it.
            const watching = await watchWhile(host, port, probe, oneAtATime);
            const held = await attack(["hold", host, port, 2000, 1]);
            const other = await watching.stop();
            expect(held.held).toBe(2000);
            expect(other.failure).toBeUndefined();
            expect(other.worstMs).toBeLessThan(QUICK_MS);
            const during = other.worstMs;
            await tcpExchange(host, port, probe);
            expectAlive(server);
            note(
              lesson,
              "5000 cycles, 2000 held",
              `a client served in ${during.toFixed(1)} ms while 2000 were held; RSS ${(await rssMiB(server.pid)).toFixed(0)} MiB`,
            );
          },
          LIMIT_MS,
        );
      });

      udpProbes.forEach((probe, index) => {
        const at = (): { host: string; port: number } => {
          const found = server.endpoints.filter((entry) => entry.probe.protocol === "udp")[index];
          if (!found) throw new Error(`no endpoint for ${probe.text}`);
          return found;
        };

        test(
          "datagrams of 0, 1, 47, 48, 49, 1200 and 65507 bytes: no reply larger than its request, and still serving",
          async () => {
            const { host, port } = at();
            const replies = await datagramSizes(host, port, [0, 1, 47, 48, 49, 1200, 65507]);
            for (const { sent, largest } of replies)
              expect({ sent, larger: largest > sent }).toEqual({ sent, larger: false });
            await udpExchange(host, port, probe);
            expectAlive(server);
            note(
              lesson,
              "datagram sizes",
              replies
                .map(({ sent, largest }) => `${sent}→${largest < 0 ? "none" : largest}`)
                .join(", "),
            );
          },
          LIMIT_MS,
        );

        test(
          "a burst of 50,000 datagrams: no reply larger than its request, and still serving",
          async () => {
            const { host, port } = at();
            const { replies, larger } = await burst(host, port, probe.request, 50_000);
            expect(larger).toBe(0);
            await udpExchange(host, port, probe);
            expectAlive(server);
            note(lesson, "burst of 50,000", `${replies} replies, none larger than its request`);
          },
          LIMIT_MS,
        );

        test.skipIf(!hasCommand("nmap"))(
          "nmap -sU at its port (needs Debian package nmap): still serving",
          async () => {
            const { host, port } = at();
            const scan = Bun.spawn(["nmap", "-sU", "-Pn", "-n", "-p", String(port), host], {
              stdout: "pipe",
              stderr: "pipe",
            });
            const output = await new Response(scan.stdout).text();
            expect(await scan.exited).toBe(0);
            expect(output).toContain(`${port}/udp`);
            await udpExchange(host, port, probe);
            expectAlive(server);
          },
          LIMIT_MS,
        );
      });
    }

    if (udpProbes.length > 0) {
      test.skipIf(!canForge)(
        "a forged datagram from its own address and port, and one from another book server: no loop (needs root for a raw socket and a private network namespace)",
        async () => {
          const figure = await forgedLoops(lesson, udpProbes[0] as Probe);
          note(lesson, "forged datagrams", figure);
        },
        LIMIT_MS,
      );
    }

    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      test(
        `${signal} with clients connected: exits 0 within a second, and its ports are free again`,
        async () => {
          const server = await startServer(lesson);
          const open: Bystander[] = [];
          for (const entry of server.endpoints) {
            if (entry.probe.protocol === "tcp" && entry.probe.request.length > 0)
              open.push(await Bystander.connect(entry.host, entry.port, entry.probe));
          }
          const started = performance.now();
          const { code } = await server.lesson.stop(signal, 5_000);
          const ms = performance.now() - started;
          for (const client of open) client.close();
          expect(code).toBe(0);
          expect(ms).toBeLessThan(1_000);
          for (const entry of server.endpoints)
            expect(await portIsFree(entry.host, entry.port, entry.probe.protocol)).toBe(true);
          note(
            lesson,
            signal,
            `exit 0 after ${ms.toFixed(0)} ms with ${open.length} client(s) connected`,
          );
        },
        LIMIT_MS,
      );
    }
  });
}

/**
 * A server that serves N clients and exits (echo-once): each attack runs on a fresh server;
 * afterwards it must still serve its client and exit 0. One that already served the attacker
 * (a hostile line is still a line) must have exited 0.
 */
function describeOneShot(lesson: Lesson, clients: number, memoryMiB: number): void {
  const probe = lesson.serves[0] as Probe;
  const serveAndExit = async (server: Running): Promise<void> => {
    const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
    // A server that served the attacker (a hostile line is still a line) exits a moment
    // after that client's close: give it that moment before deciding it still waits.
    await Promise.race([server.lesson.proc.exited, Bun.sleep(300)]);
    if (server.lesson.proc.exitCode === null) {
      for (let i = 0; i < clients; i++) await tcpExchange(host, port, probe);
    }
    await expectCleanExit(server);
  };

  test(
    `serves ${clients} client(s) by design: after 300 resets it serves one and exits 0`,
    async () => {
      await using_(lesson, async (server) => {
        const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
        await attack(["resets", host, port, 300]);
        await serveAndExit(server);
      });
    },
    LIMIT_MS,
  );

  test(
    `serves ${clients} client(s) by design: 200 slowloris connections do not count, a client is served and it exits 0`,
    async () => {
      await using_(lesson, async (server) => {
        const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
        let served: Promise<void> | undefined;
        const dripping = attack(["drip", host, port, 200, 3], {
          onLine: (line) => {
            if (line.includes("dripping")) served = serveAndExit(server);
          },
        });
        const result = await dripping;
        await served;
        expect(result.closed_by_server).toBe(200);
      });
    },
    LIMIT_MS,
  );

  test(
    `serves ${clients} client(s) by design: a flood that never reads is served as its one client, under ${memoryMiB} MiB, and it exits 0`,
    async () => {
      await using_(lesson, async (server) => {
        const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
        const flooding = attack([
          "flood",
          host,
          port,
          Buffer.from(probe.request).toString("hex"),
          3,
        ]);
        const { peakMiB } = await peakRss(server.pid, flooding);
        expect(peakMiB).toBeLessThan(memoryMiB);
        await expectCleanExit(server);
      });
    },
    LIMIT_MS,
  );

  for (const name of ["1 MiB line", "10 MiB without a newline", "binary garbage", "half a line"]) {
    test(
      `serves ${clients} client(s) by design: after ${name} it still serves (or has served that one) and exits 0`,
      async () => {
        await using_(lesson, async (server) => {
          const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
          const result = await attack(["lines", host, port, name]);
          const seen = Object.values(result)[0] as { first_line?: string };
          await serveAndExit(server);
          note(lesson, name, JSON.stringify(seen.first_line ?? ""));
        });
      },
      LIMIT_MS,
    );
  }

  test(
    `serves ${clients} client(s) by design: 5000 connect/close cycles and 2000 idle connections do not count, then it serves one and exits 0`,
    async () => {
      await using_(lesson, async (server) => {
        const { host, port } = server.endpoints[0] ?? { host: "", port: 0 };
        await attack(["cycles", host, port, 5000]);
        let served: Promise<void> | undefined;
        await attack(["hold", host, port, 2000, 2], {
          onLine: (line) => {
            if (line.includes("holding")) served = serveAndExit(server);
          },
        });
        await served;
      });
    },
    LIMIT_MS,
  );
}

/**
 * Another client that goes on using the server while an attack runs, every 250 ms: on a
 * fresh connection each time, or, for a server that serves one client at a time, on one
 * connection that holds the turn (its exchanges also keep it from being idle).
 */
async function watchWhile(
  host: string,
  port: number,
  probe: Probe,
  holdTheTurn: boolean,
): Promise<{ stop(): Promise<{ worstMs: number; exchanges: number; failure?: string }> }> {
  if (holdTheTurn && probe.request.length > 0) {
    const bystander = await Bystander.connect(host, port, probe);
    const watching = bystander.watch();
    return {
      stop: async () => {
        const seen = await watching.stop();
        bystander.close();
        return seen;
      },
    };
  }
  let running = true;
  let worstMs = 0;
  let exchanges = 0;
  let failure: string | undefined;
  const loop = (async () => {
    while (running && failure === undefined) {
      try {
        worstMs = Math.max(worstMs, await tcpExchange(host, port, probe));
        exchanges++;
      } catch (error) {
        failure = (error as Error).message;
      }
      await Bun.sleep(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { worstMs, exchanges, failure };
    },
  };
}

/** Runs `body` with a fresh server of `lesson`, killed afterwards whatever happens. */
async function using_(lesson: Lesson, body: (server: Running) => Promise<void>): Promise<void> {
  const server = await startServer(lesson);
  try {
    await body(server);
  } finally {
    await server.lesson[Symbol.asyncDispose]();
  }
}

/** Sends one datagram of each size and returns the largest reply each got (-1: none). */
async function datagramSizes(
  host: string,
  port: number,
  sizes: number[],
): Promise<{ sent: number; largest: number }[]> {
  const results: { sent: number; largest: number }[] = [];
  for (const size of sizes) {
    let largest = -1;
    const socket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(_socket, data) {
          largest = Math.max(largest, data.length);
        },
        error() {},
      },
    });
    const payload = Buffer.alloc(size, 0x23);
    socket.send(payload, port, host);
    await Bun.sleep(200);
    socket.close();
    results.push({ sent: size, largest });
  }
  return results;
}

/** Sends `count` copies of `request` as fast as the socket takes them; counts the replies. */
async function burst(
  host: string,
  port: number,
  request: Uint8Array,
  count: number,
): Promise<{ replies: number; larger: number }> {
  let replies = 0;
  let larger = 0;
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(_socket, data) {
        replies++;
        if (data.length > request.length) larger++;
      },
      error() {},
    },
  });
  for (let sent = 0; sent < count; sent++) {
    // A full send buffer drops the datagram (send() says false): that is UDP, and fine here.
    socket.send(request, port, host);
    if (sent % 1000 === 999) await Bun.sleep(1);
  }
  await Bun.sleep(500);
  socket.close();
  return { replies, larger };
}

/** Whether a server's port can be bound again, right after it stopped. */
async function portIsFree(host: string, port: number, protocol: "tcp" | "udp"): Promise<boolean> {
  try {
    if (protocol === "tcp") Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
    else (await Bun.udpSocket({ hostname: host, port })).close();
    return true;
  } catch {
    return false;
  }
}

/** UDP datagrams sent by every process in a network namespace, read from the kernel's counters. */
async function udpSent(pid: number): Promise<number> {
  const snmp = await Bun.file(`/proc/${pid}/net/snmp`).text();
  const [names, values] = snmp.split("\n").filter((line) => line.startsWith("Udp:"));
  const index = (names ?? "").split(/\s+/).indexOf("OutDatagrams");
  return Number((values ?? "").split(/\s+/)[index] ?? 0);
}

/**
 * Inside a private network namespace: a datagram forged "from" the server's own address and
 * port, then one "from" a second book server (the book's first UDP echo, or another copy of
 * this server). A loop shows as datagrams that keep flowing; the guard stops them.
 */
async function forgedLoops(lesson: Lesson, probe: Probe): Promise<string> {
  const server = await startServer(lesson, { argvPrefix: PRIVATE_NETWORK });
  const partnerLesson =
    SERVERS.find(
      (other) =>
        other !== lesson &&
        other.serves.some((entry) => entry.protocol === "udp" && /echo/i.test(other.title)),
    ) ?? lesson;
  const partnerProcess = startLesson(partnerLesson.file, batteryArgs(partnerLesson), {
    argvPrefix: ["nsenter", "-t", String(server.lesson.proc.pid), "-n"],
  });
  try {
    await partnerProcess.waitFor(/listening on \S+:\d+ \(udp\)/);
    const own = server.endpoints.find((entry) => entry.probe === probe) ?? {
      host: "127.0.0.1",
      port: 0,
    };
    const partnerPort = Number(partnerProcess.stdout.match(/listening on \S+:(\d+) \(udp\)/)?.[1]);
    const forge = async (sourcePort: number): Promise<void> => {
      const child = Bun.spawn(
        [
          "nsenter",
          "-t",
          String(server.pid),
          "-n",
          "python3",
          `${import.meta.dir}/forge.py`,
          "127.0.0.1",
          String(sourcePort),
          "127.0.0.1",
          String(own.port),
          Buffer.from(probe.request).toString("hex"),
        ],
        { stdout: "ignore", stderr: "pipe" },
      );
      expect(await child.exited).toBe(0);
    };
    const figures: string[] = [];
    for (const [name, sourcePort] of [
      ["its own address", own.port],
      [`${partnerLesson.file}`, partnerPort],
    ] as const) {
      const before = await udpSent(server.pid);
      await forge(sourcePort);
      await Bun.sleep(1_000);
      const first = await udpSent(server.pid);
      await Bun.sleep(1_000);
      const second = await udpSent(server.pid);
      // After a second the exchange must have stopped: nothing more in the next second.
      expect({ from: name, stillFlowing: second - first }).toEqual({ from: name, stillFlowing: 0 });
      figures.push(`from ${name}: ${first - before} datagram(s), then none`);
    }
    expectAlive(server);
    return figures.join("; ");
  } finally {
    await partnerProcess[Symbol.asyncDispose]();
    await server.lesson[Symbol.asyncDispose]();
  }
}
