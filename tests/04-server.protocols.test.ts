/**
 * Chapter 04, lessons 08-14: the standard protocols (daytime RFC 867, echo RFC 862, over TCP
 * and UDP), the Informe's TCP+UDP server with its client, and the load generator. Each lesson
 * is driven in-process through its exports and run as a student would. The bad inputs are
 * the chapter's: refused connections, ports in use, 16 MiB of binary echoed exactly, a client
 * that never reads (the server's queue and memory stay bounded), lines over the limit, lost
 * UDP datagrams, and one client's `exit`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, udp } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daytimeLine, startDaytimeServer } from "../04-server/08-daytime-server.ts";
import { askDaytime, openUdpClient } from "../04-server/09-daytime-client.ts";
import { MAX_QUEUED_BYTES, startEchoServer } from "../04-server/10-echo-server.ts";
import { checkEcho } from "../04-server/11-echo-client.ts";
import { MAX_MESSAGE_BYTES, replyTo, startDualServer } from "../04-server/12-dual-server.ts";
import { talkOverTcp, talkOverUdp } from "../04-server/13-dual-client.ts";
import { runLoad } from "../04-server/14-load.ts";
import { parsePort } from "../04-server/cli.ts";
import {
  freePort,
  runLesson,
  startLesson,
  TcpTestClient,
  udpRequest,
  SLOW_TEST_MS,
} from "./helpers.ts";

const inUse = (port: number, host = "127.0.0.1"): string =>
  `port ${port} on ${host} is already in use: stop the program that holds it, or pick another port (--port 0 takes any free one)`;
const refused = (where: string): string =>
  `${where} refused: nothing listens there (check the port, or start the server first).`;

/** What a test opened in-process (servers, sockets); all closed after each test. */
const opened: { close(): void }[] = [];
function track<T extends { stop(): void }>(server: T): T {
  opened.push({ close: () => server.stop() });
  return server;
}
afterEach(() => {
  for (const thing of opened.splice(0)) thing.close();
});

/** A UDP socket on loopback for fake servers; closed after the test. */
async function fakeUdpServer(
  onDatagram: (socket: udp.Socket<"buffer">, data: Buffer, port: number) => void,
) {
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: { data: (s, data, port) => onDatagram(s, data, port), error() {} },
  });
  opened.push(socket);
  return socket;
}

/** A TCP listener for fake servers, with its connections closed after the test. */
function fakeTcpServer(open: (socket: Socket<undefined>) => void) {
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open, data() {}, error() {} },
  });
  opened.push({ close: () => listener.stop(true) });
  return listener;
}

/** A collector for a lesson's `log` option, with a wait for a line that may come later. */
function logCollector() {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  return {
    lines,
    log: (line: string): void => {
      lines.push(line);
      for (const entry of waiting.splice(0))
        if (entry.pattern.test(line)) entry.resolve();
        else waiting.push(entry);
    },
    waitFor: (pattern: RegExp): Promise<void> =>
      lines.some((line) => pattern.test(line))
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ pattern, resolve })),
  };
}

/**
 * Sends `payload` over TCP (write, and on `drain` the rest), half-closes, and resolves with
 * everything received until the server closes: chunks are kept in a list, not re-copied.
 */
function echoThrough(port: number, payload: Uint8Array, host = "127.0.0.1"): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let offset = 0;
  return new Promise((resolve, reject) => {
    const pump = (socket: Socket<undefined>): void => {
      while (offset < payload.length) {
        const written = socket.write(payload.subarray(offset));
        if (written <= 0) return;
        offset += written;
      }
      socket.shutdown();
    };
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open: pump,
        drain: pump,
        data: (_socket, chunk) => void chunks.push(chunk),
        close: () => resolve(Buffer.concat(chunks)),
        connectError: (_socket, error) => reject(error),
        error: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });
}

/**
 * A client that sends and never reads (its socket is paused): it offers up to 256 MiB, writing
 * until the kernel takes less, again on every `drain`. Terminated after the test.
 */
async function startHog(port: number) {
  const chunk = new Uint8Array(65_536).fill(7);
  const counts = { offered: 0, taken: 0 };
  const push = (socket: Socket<undefined>): void => {
    while (counts.offered < 256 * 1024 * 1024) {
      counts.offered += chunk.length;
      const written = socket.write(chunk);
      counts.taken += Math.max(written, 0);
      if (written < chunk.length) return;
    }
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { open: (hog) => void hog.pause(), data() {}, drain: push, error() {} },
  });
  socket.pause(); // never reads its echo
  opened.push({ close: () => socket.terminate() });
  push(socket);
  /** The server's log line for this client: `127.0.0.1:PORT reads slower than it sends...`. */
  const pausedLine = new RegExp(
    `127\\.0\\.0\\.1:${socket.localPort} reads slower than it sends: pausing it`,
  );
  return { counts, pausedLine };
}

/** 16 MiB of random bytes: every byte value, no pattern a broken echo could fake. */
const bigPayload = (): Uint8Array => {
  const bytes = new Uint8Array(16 * 1024 * 1024);
  for (let offset = 0; offset < bytes.length; offset += 65_536)
    crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
};

/** Resident memory of a process, in bytes, from /proc. */
async function residentBytes(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? Number.NaN) * 1024;
}

describe("08-daytime-server in-process", () => {
  test("TCP: one line of time, then the server closes; UDP: any datagram gets the same line", async () => {
    const now = new Date("2024-02-29T12:34:56Z");
    const log = logCollector();
    const server = track(await startDaytimeServer({ port: 0, now: () => now, log: log.log }));
    const port = server.tcp?.port ?? 0;
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    expect(client.text).toBe("Thu, 29 Feb 2024 12:34:56 GMT\r\n");
    expect(client.text).toBe(daytimeLine(now));
    const reply = await udpRequest(server.udp?.port ?? 0, "anything");
    expect(reply.toString()).toBe(daytimeLine(now));
    expect(log.lines.some((line) => /^telling 127\.0\.0\.1:\d+ the time \(tcp\)$/.test(line))).toBe(
      true,
    );
    expect(log.lines.some((line) => /^telling 127\.0\.0\.1:\d+ the time \(udp\)$/.test(line))).toBe(
      true,
    );
  });

  test("an empty datagram is answered too (RFC 867: a datagram with anything in it)", async () => {
    const server = track(await startDaytimeServer({ port: 0, protocols: ["udp"] }));
    expect(server.tcp).toBeUndefined();
    const reply = await udpRequest(server.udp?.port ?? 0, new Uint8Array(0));
    expect(Date.parse(reply.toString())).toBeGreaterThan(0);
  });

  test("over IPv6 (::1)", async () => {
    const server = track(await startDaytimeServer({ host: "::1", port: 0 }));
    await using client = await TcpTestClient.connect(server.tcp?.port ?? 0, "::1");
    await client.whenClosed;
    expect(client.text).toMatch(/ GMT\r\n$/);
    const reply = await udpRequest(server.udp?.port ?? 0, "x", { hostname: "::1" });
    expect(reply.toString()).toMatch(/ GMT\r\n$/);
  });

  test("a port in use is one sentence; when UDP fails, the TCP listener is given back", async () => {
    const first = track(await startDaytimeServer({ port: 0, protocols: ["tcp"] }));
    const tcpPort = first.tcp?.port ?? 0;
    await expect(startDaytimeServer({ port: tcpPort, protocols: ["tcp"] })).rejects.toThrow(
      inUse(tcpPort),
    );
    const holder = await fakeUdpServer(() => {});
    // TCP binds holder.port (free for TCP), then UDP fails: the TCP port must be free again.
    await expect(startDaytimeServer({ port: holder.port })).rejects.toThrow(inUse(holder.port));
    const again = track(await startDaytimeServer({ port: holder.port, protocols: ["tcp"] }));
    expect(again.tcp?.port).toBe(holder.port);
  });

  test("parsePort takes 0-65535 and says what is wrong otherwise", () => {
    expect(parsePort("0")).toBe(0);
    expect(parsePort("65535")).toBe(65_535);
    expect(() => parsePort("65536")).toThrow(
      '--port must be a whole number from 0 to 65535 (got "65536")',
    );
    expect(() => parsePort("-1")).toThrow('(got "-1")');
    expect(() => parsePort("12abc", "--udp-port")).toThrow("--udp-port must be");
  });
});

describe("08-daytime-server as a student runs it", () => {
  test("listens on TCP and UDP, answers nc-style clients, stops on SIGTERM with exit 0", async () => {
    await using server = startLesson("04-server/08-daytime-server.ts", ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udpEndpoint = await server.listening("udp");
    await using client = await TcpTestClient.connect(tcp.port);
    await client.whenClosed;
    const before = Date.now();
    const told = Date.parse(client.text);
    expect(Math.abs(told - before)).toBeLessThan(60_000);
    const reply = await udpRequest(udpEndpoint.port, "\n");
    expect(Math.abs(Date.parse(reply.toString()) - before)).toBeLessThan(60_000);
    await server.waitFor(/telling 127\.0\.0\.1:\d+ the time \(udp\)/);
    const { code, stdout } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGTERM");
  });

  test("--protocol udp over IPv6 binds only UDP", async () => {
    await using server = startLesson("04-server/08-daytime-server.ts", [
      "--protocol",
      "udp",
      "--host",
      "::1",
      "--port",
      "0",
    ]);
    const { host, port } = await server.listening("udp");
    expect(host).toBe("::1");
    expect((await udpRequest(port, "?", { hostname: "::1" })).toString()).toMatch(/GMT\r\n$/);
    const { code, stdout } = await server.stop();
    expect(code).toBe(0);
    expect(stdout).not.toContain("(tcp)");
  });

  test("a port in use: one sentence naming the port, exit 1", async () => {
    const holder = track(await startDaytimeServer({ port: 0, protocols: ["tcp"] }));
    const port = holder.tcp?.port ?? 0;
    const { code, stderr } = await runLesson("04-server/08-daytime-server.ts", [
      "--port",
      String(port),
    ]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(inUse(port));
  });

  test.each([
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--protocol", "sctp"], '--protocol must be tcp, udp or both (got "sctp")'],
    [["--host", "localhost"], '--host must be an IP address like ::1 (got "localhost")'],
  ])("bad arguments %p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stderr } = await runLesson("04-server/08-daytime-server.ts", args);
    expect(code).toBe(2);
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run 04-server/08-daytime-server.ts`);
  });
});

describe("09-daytime-client in-process", () => {
  test("asks over TCP (reads until close) and over UDP, from lesson 08's server", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const server = track(await startDaytimeServer({ port: 0, now: () => now }));
    const overTcp = await askDaytime("tcp", "127.0.0.1", server.tcp?.port ?? 0);
    expect(overTcp).toMatchObject({
      protocol: "tcp",
      time: "Tue, 01 Jan 2030 00:00:00 GMT",
      bytes: 31,
      attempts: 1,
    });
    const overUdp = await askDaytime("udp", "127.0.0.1", server.udp?.port ?? 0);
    expect(overUdp).toMatchObject({
      protocol: "udp",
      time: "Tue, 01 Jan 2030 00:00:00 GMT",
      attempts: 1,
    });
  });

  test("TCP: an answer written in pieces is read whole, up to the close", async () => {
    const listener = fakeTcpServer((socket) => {
      for (const piece of ["Tue, 01 Jan", " 2030 00:00", ":00 GMT\r\n"]) socket.write(piece);
      socket.end();
    });
    const answer = await askDaytime("tcp", "127.0.0.1", listener.port);
    expect(answer.time).toBe("Tue, 01 Jan 2030 00:00:00 GMT");
  });

  test("UDP: a lost datagram is sent again, and the answer says how many tries it took", async () => {
    let seen = 0;
    const server = await fakeUdpServer((socket, _data, port) => {
      if (++seen >= 2) socket.send("time\r\n", port, "127.0.0.1"); // the first is "lost"
    });
    const answer = await askDaytime("udp", "127.0.0.1", server.port, 200);
    expect(answer).toMatchObject({ time: "time", attempts: 2 });
    expect(seen).toBe(2);
  });

  test("UDP: a datagram from someone else is not taken for the answer", async () => {
    const stranger = await fakeUdpServer(() => {});
    const server = await fakeUdpServer((socket, _data, port) => {
      stranger.send("not the time", port, "127.0.0.1");
      socket.send("the time", port, "127.0.0.1");
    });
    expect((await askDaytime("udp", "127.0.0.1", server.port)).time).toBe("the time");
  });

  test("failures are one sentence: refused (TCP and UDP), silence, endless answers", async () => {
    const closed = await freePort();
    await expect(askDaytime("tcp", "127.0.0.1", closed)).rejects.toThrow(
      refused(`127.0.0.1:${closed} (tcp)`),
    );
    await expect(askDaytime("udp", "127.0.0.1", closed)).rejects.toThrow(
      refused(`127.0.0.1:${closed} (udp)`),
    );
    const silent = await fakeUdpServer(() => {});
    await expect(askDaytime("udp", "127.0.0.1", silent.port, 100)).rejects.toThrow(
      `127.0.0.1:${silent.port} (udp) did not answer 3 datagrams 100 ms apart: is the server running, or does a firewall drop UDP?`,
    );
    const neverCloses = fakeTcpServer((socket) => void socket.write("Tue\r\n"));
    await expect(askDaytime("tcp", "127.0.0.1", neverCloses.port, 100)).rejects.toThrow(
      `127.0.0.1:${neverCloses.port} (tcp) did not finish its answer in 500 ms.`,
    );
    const chatty = fakeTcpServer((socket) => void socket.write(Buffer.alloc(5000, 65)));
    await expect(askDaytime("tcp", "127.0.0.1", chatty.port)).rejects.toThrow(
      `127.0.0.1:${chatty.port} (tcp) sent over 4096 bytes: not a daytime server.`,
    );
  });

  test("openUdpClient keeps one socket for many requests, and takes only accepted replies", async () => {
    const server = await fakeUdpServer((socket, data, port) => {
      socket.send(`old ${data}`, port, "127.0.0.1");
      socket.send(`new ${data}`, port, "127.0.0.1");
    });
    const client = await openUdpClient("127.0.0.1", server.port);
    try {
      const accept = (reply: Buffer): boolean => reply.toString().startsWith("new");
      expect(String((await client.request("a", accept)).reply)).toBe("new a");
      expect(String((await client.request("b", accept)).reply)).toBe("new b");
    } finally {
      client.close();
    }
  });
});

describe("09-daytime-client as a student runs it", () => {
  test("no arguments: starts lesson 08's server in-process, says so, prints the time", async () => {
    const { code, stdout } = await runLesson("04-server/09-daytime-client.ts");
    expect(code).toBe(0);
    expect(stdout).toContain("no --host or --port given: started lesson 08's server here");
    const time = stdout.match(/127\.0\.0\.1:\d+ \(tcp\) says: (.+)/)?.[1] ?? "";
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(60_000);
    expect(stdout).toMatch(/31 bytes in [\d.]+ ms, answered on try 1/);
  });

  test("--protocol udp --json against a spawned server: one JSON document", async () => {
    await using server = startLesson("04-server/08-daytime-server.ts", [
      "--port",
      "0",
      "--protocol",
      "udp",
    ]);
    const { port } = await server.listening("udp");
    const args = ["--protocol", "udp", "--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout } = await runLesson("04-server/09-daytime-client.ts", args);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as {
      protocol: string;
      port: number;
      time: string;
      attempts: number;
    };
    expect(answer).toMatchObject({ protocol: "udp", port, attempts: 1 });
    expect(answer.time).toMatch(/GMT$/);
  });

  test("a closed port: one sentence, exit 1; a bad --protocol: exit 2", async () => {
    const closed = await freePort();
    const refusedRun = await runLesson("04-server/09-daytime-client.ts", [
      "--port",
      String(closed),
    ]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const bad = await runLesson("04-server/09-daytime-client.ts", ["--protocol", "icmp"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--protocol must be tcp or udp (got "icmp")\n\nusage:');
  });
});

describe("the clients (09, 11, 13, 14) against peers that never finish, and bad flags", () => {
  test(
    "09 against a TCP server that never closes: one sentence, exit 1, and the process ends",
    async () => {
      const mute = fakeTcpServer(() => {});
      const run = await runLesson("04-server/09-daytime-client.ts", ["--port", String(mute.port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `127.0.0.1:${mute.port} (tcp) did not finish its answer in 5000 ms.\n`,
      );
    },
    SLOW_TEST_MS,
  );

  test(
    "11 against a peer that reads but never echoes or closes: one sentence, exit 1, and the process ends",
    async () => {
      // allowHalfOpen: our FIN does not make it close, so only the client's own limit ends this.
      const sink = Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        allowHalfOpen: true,
        socket: { data() {}, end() {}, error() {} },
      });
      opened.push({ close: () => sink.stop(true) });
      const args = ["--port", String(sink.port), "--message", "anyone there?"];
      const run = await runLesson("04-server/11-echo-client.ts", args);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`127.0.0.1:${sink.port} went silent for 10000 ms.\n`);
    },
    SLOW_TEST_MS,
  );

  test(
    "14 against a server that never answers: one sentence, exit 1, not a table of zeros",
    async () => {
      const mute = fakeTcpServer(() => {});
      const args = ["--port", String(mute.port), "--connections", "2", "--seconds", "1"];
      const run = await runLesson("04-server/14-load.ts", args);
      expect(run.code).toBe(1);
      expect(run.stdout).not.toContain("req/s");
      expect(run.stderr).toBe(`127.0.0.1:${mute.port} sent nothing back: is it an echo server?\n`);
    },
    SLOW_TEST_MS,
  );

  test.each([
    [
      "04-server/09-daytime-client.ts",
      ["--port", "0"],
      '--port must be a whole number from 1 to 65535 (got "0")',
    ],
    [
      "04-server/11-echo-client.ts",
      ["--port", "0"],
      '--port must be a whole number from 1 to 65535 (got "0")',
    ],
    [
      "04-server/13-dual-client.ts",
      ["--udp-port", "0"],
      '--udp-port must be a whole number from 1 to 65535 (got "0")',
    ],
    [
      "04-server/09-daytime-client.ts",
      ["--host", ""],
      '--host must be a host name or an IP address (got "")',
    ],
    [
      "04-server/11-echo-client.ts",
      ["--host", ""],
      '--host must be a host name or an IP address (got "")',
    ],
    [
      "04-server/13-dual-client.ts",
      ["--host", " "],
      '--host must be a host name or an IP address (got " ")',
    ],
  ])("%s %p: exit 2, the reason, then the usage", async (file, args, reason) => {
    const { code, stdout, stderr } = await runLesson(file, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${file}`);
  });
});

describe("10-echo-server in-process", () => {
  test("16 MiB of random binary comes back exactly, and the queue stays small", async () => {
    const server = track(await startEchoServer({ port: 0, protocols: ["tcp"] }));
    const payload = bigPayload();
    const back = await echoThrough(server.tcp?.port ?? 0, payload);
    expect(back.length).toBe(payload.length);
    expect(Buffer.compare(back, Buffer.from(payload))).toBe(0);
    expect(server.stats.peakQueuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
  });

  test("a client that sends without reading is paused: its queue stays bounded, others are served", async () => {
    const log = logCollector();
    const server = track(await startEchoServer({ port: 0, protocols: ["tcp"], log: log.log }));
    const port = server.tcp?.port ?? 0;
    const hog = await startHog(port);
    await log.waitFor(hog.pausedLine);
    expect(server.stats.pausedNow).toBe(1);
    // Another client is echoed while the hog is paused.
    const other = await echoThrough(port, Buffer.from("still here\n"));
    expect(other.toString()).toBe("still here\n");
    expect(server.stats.peakQueuedBytes).toBeGreaterThan(0);
    expect(server.stats.peakQueuedBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(hog.counts.taken).toBeLessThan(64 * 1024 * 1024); // flow control held the rest back
  });

  test("UDP: a binary datagram comes back byte for byte; IPv6 too", async () => {
    const server = track(await startEchoServer({ port: 0, protocols: ["udp"] }));
    const datagram = crypto.getRandomValues(new Uint8Array(1400));
    const reply = await udpRequest(server.udp?.port ?? 0, datagram);
    expect(Buffer.compare(reply, Buffer.from(datagram))).toBe(0);
    const v6 = track(await startEchoServer({ host: "::1", port: 0 }));
    expect((await udpRequest(v6.udp?.port ?? 0, "six", { hostname: "::1" })).toString()).toBe(
      "six",
    );
    expect((await echoThrough(v6.tcp?.port ?? 0, Buffer.from("six"), "::1")).toString()).toBe(
      "six",
    );
  });

  test("a port in use is one sentence", async () => {
    const first = track(await startEchoServer({ port: 0, protocols: ["tcp"] }));
    const port = first.tcp?.port ?? 0;
    await expect(startEchoServer({ port, protocols: ["tcp"] })).rejects.toThrow(inUse(port));
  });
});

describe("10-echo-server as a student runs it", () => {
  test("16 MiB echoed exactly; a client that never reads is paused and the RSS stays bounded", async () => {
    await using server = startLesson("04-server/10-echo-server.ts", [
      "--port",
      "0",
      "--protocol",
      "tcp",
    ]);
    const { port } = await server.listening("tcp");
    const payload = bigPayload();
    const back = await echoThrough(port, payload);
    expect(Buffer.compare(back, Buffer.from(payload))).toBe(0);

    const hog = await startHog(port);
    await server.waitFor(hog.pausedLine);
    expect((await echoThrough(port, Buffer.from("ping"))).toString()).toBe("ping");
    // Up to 256 MiB offered; the server holds a few MiB of it at most, plus the runtime itself.
    expect(hog.counts.taken).toBeLessThan(64 * 1024 * 1024);
    expect(await residentBytes(server.proc.pid)).toBeLessThan(200 * 1024 * 1024);
    const { code, stdout } = await server.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toMatch(/left; 16777216 bytes echoed/);
  });

  test("--host ::1: TCP and UDP over IPv6", async () => {
    await using server = startLesson("04-server/10-echo-server.ts", [
      "--host",
      "::1",
      "--port",
      "0",
    ]);
    const tcp = await server.listening("tcp");
    const udpEndpoint = await server.listening("udp");
    expect([tcp.host, udpEndpoint.host]).toEqual(["::1", "::1"]);
    expect((await echoThrough(tcp.port, Buffer.from("over six"), "::1")).toString()).toBe(
      "over six",
    );
    const reply = await udpRequest(udpEndpoint.port, "six", { hostname: "::1" });
    expect(reply.toString()).toBe("six");
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });

  test("a port in use: exit 1 and the sentence", async () => {
    const holder = track(await startEchoServer({ port: 0, protocols: ["udp"] }));
    const port = holder.udp?.port ?? 0;
    const { code, stderr } = await runLesson("04-server/10-echo-server.ts", [
      "--protocol",
      "udp",
      "--port",
      String(port),
    ]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(inUse(port));
  });
});

describe("11-echo-client", () => {
  test("checkEcho over TCP: 16 MiB, same count and SHA-256; over UDP: one datagram", async () => {
    const server = track(await startEchoServer({ port: 0 }));
    const payload = bigPayload();
    const tcp = await checkEcho("tcp", { host: "127.0.0.1", port: server.tcp?.port ?? 0 }, [
      payload,
    ]);
    expect(tcp).toMatchObject({
      sentBytes: payload.length,
      receivedBytes: payload.length,
      identical: true,
    });
    expect(tcp.receivedSha256).toBe(new Bun.CryptoHasher("sha256").update(payload).digest("hex"));
    const udpResult = await checkEcho("udp", { host: "127.0.0.1", port: server.udp?.port ?? 0 }, [
      Buffer.from("héllo"),
    ]);
    expect(udpResult).toMatchObject({ sentBytes: 6, receivedBytes: 6, identical: true });
  });

  test("an unfaithful echo is caught: one byte changed", async () => {
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      allowHalfOpen: true,
      socket: {
        data: (socket, chunk) =>
          void socket.write(chunk.map((byte, i) => (i === 0 ? byte ^ 1 : byte))),
        end: (socket) => void socket.end(),
        error() {},
      },
    });
    track({ stop: () => listener.stop(true) });
    const result = await checkEcho("tcp", { host: "127.0.0.1", port: listener.port }, [
      Buffer.from("abc"),
    ]);
    expect(result).toMatchObject({ sentBytes: 3, receivedBytes: 3, identical: false });
    expect(result.sentSha256).not.toBe(result.receivedSha256);
  });

  test("UDP: a lost datagram is sent again", async () => {
    let seen = 0;
    const server = await fakeUdpServer((socket, data, port) => {
      if (++seen > 1) socket.send(data, port, "127.0.0.1");
    });
    const result = await checkEcho("udp", { host: "127.0.0.1", port: server.port }, [
      Buffer.from("again"),
    ]);
    expect(result.identical).toBe(true);
    expect(seen).toBe(2);
  });

  test("a server that closes without echoing: a clear result, not a hang", async () => {
    const listener = fakeTcpServer((socket) => void socket.end());
    const peer = { host: "127.0.0.1", port: listener.port };
    const result = await checkEcho("tcp", peer, [Buffer.from("x")]);
    expect(result).toMatchObject({ sentBytes: 1, receivedBytes: 0, identical: false });
  });

  test("spawned: typed lines come back, then the check; --message over UDP; --file of 16 MiB", async () => {
    const typed = await runLesson("04-server/11-echo-client.ts", [], {
      input: "one\ntwo ✓\nthree\n",
    });
    expect(typed.code).toBe(0);
    expect(typed.stdout).toContain("no --host or --port: started lesson 10's server, 127.0.0.1:");
    expect(typed.stdout).toContain("one\ntwo ✓\nthree\n");
    expect(typed.stdout).toMatch(/18 bytes sent to 127\.0\.0\.1:\d+ \(tcp\), 18 back in \d+ ms/);
    expect(typed.stdout).toContain("the echo is identical");

    const udpRun = await runLesson("04-server/11-echo-client.ts", [
      "--protocol",
      "udp",
      "--message",
      "datagram",
      "--json",
    ]);
    expect(udpRun.code).toBe(0);
    expect(JSON.parse(udpRun.stdout)).toMatchObject({
      protocol: "udp",
      sentBytes: 8,
      identical: true,
    });

    const dir = mkdtempSync(join(tmpdir(), "echo-file-"));
    try {
      const file = join(dir, "random.bin");
      writeFileSync(file, bigPayload());
      await using server = startLesson("04-server/10-echo-server.ts", [
        "--port",
        "0",
        "--protocol",
        "tcp",
      ]);
      const { port } = await server.listening("tcp");
      const args = ["--file", file, "--host", "127.0.0.1", "--port", String(port)];
      const fileRun = await runLesson("04-server/11-echo-client.ts", args);
      expect(fileRun.code).toBe(0);
      expect(fileRun.stdout).toMatch(
        /16777216 bytes sent to 127\.0\.0\.1:\d+ \(tcp\), 16777216 back/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("spawned failures: refused, missing file, a message too big for a datagram (exit 1); --file over UDP (exit 2)", async () => {
    const closed = await freePort();
    const refusedRun = await runLesson("04-server/11-echo-client.ts", [
      "--port",
      String(closed),
      "--message",
      "x",
    ]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const missing = await runLesson("04-server/11-echo-client.ts", [
      "--file",
      "/nonexistent/file.bin",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("cannot read /nonexistent/file.bin: there is no such file.");
    const udpFile = await runLesson("04-server/11-echo-client.ts", [
      "--file",
      "x",
      "--protocol",
      "udp",
    ]);
    expect(udpFile.code).toBe(2);
    expect(udpFile.stderr).toStartWith(
      "--file goes alone and over TCP: a file may not fit in one datagram",
    );
    const tooBig = await runLesson("04-server/11-echo-client.ts", [
      "--protocol",
      "udp",
      "--message",
      "x".repeat(70_000),
    ]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr.trim()).toMatch(
      /^127\.0\.0\.1:\d+ \(udp\): a datagram carries at most 65507 bytes; send less\.$/,
    );
  });
});

describe("12-dual-server", () => {
  test("replyTo: the Informe's reply in English, and `exit` ends the conversation", () => {
    expect(replyTo("TCP", "hola")).toEqual({ reply: "server (TCP) received: hola", end: false });
    expect(replyTo("UDP", " EXIT ")).toEqual({ reply: "server (UDP): goodbye", end: true });
  });

  test("TCP: lines however split or joined; CRLF; `exit` closes that client only", async () => {
    const server = track(await startDualServer({ tcpPort: 0, udpPort: 0 }));
    await using first = await TcpTestClient.connect(server.tcp.port);
    await using second = await TcpTestClient.connect(server.tcp.port);
    for (const piece of ["hel", "lo\r\nwor", "ld\n"]) first.send(piece);
    await first.waitForText(/received: world\n/);
    expect(first.text).toBe("server (TCP) received: hello\nserver (TCP) received: world\n");
    first.send("exit\n");
    await first.whenClosed;
    expect(first.text).toEndWith("server (TCP): goodbye\n");
    second.send("still there?\n");
    await second.waitForText(/still there\?\n/);
    expect(second.text).toBe("server (TCP) received: still there?\n");
  });

  test("a line over the limit: an error, that connection closed, the others served", async () => {
    const log = logCollector();
    const server = track(
      await startDualServer({ tcpPort: 0, udpPort: 0, maxMessageBytes: 16, log: log.log }),
    );
    await using bad = await TcpTestClient.connect(server.tcp.port);
    await using good = await TcpTestClient.connect(server.tcp.port);
    bad.send("x".repeat(17));
    await bad.whenClosed;
    expect(bad.text).toBe("error: line longer than 16 bytes; closing this connection\n");
    good.send(`${"y".repeat(16)}\n`);
    await good.waitForText(/\n$/);
    expect(good.text).toBe(`server (TCP) received: ${"y".repeat(16)}\n`);
    expect(log.lines.some((line) => line.includes("sent a line over 16 bytes: closing it"))).toBe(
      true,
    );
  });

  test("UDP: a reply per datagram; `exit` says goodbye and the server goes on; too long is refused", async () => {
    const server = track(await startDualServer({ tcpPort: 0, udpPort: 0 }));
    const port = server.udp.port;
    expect((await udpRequest(port, "hola\n")).toString()).toBe("server (UDP) received: hola");
    expect((await udpRequest(port, "exit")).toString()).toBe("server (UDP): goodbye");
    expect((await udpRequest(port, "after")).toString()).toBe("server (UDP) received: after");
    const long = "z".repeat(MAX_MESSAGE_BYTES + 1);
    expect((await udpRequest(port, long)).toString()).toBe(
      `error: message longer than ${MAX_MESSAGE_BYTES} bytes`,
    );
  });

  test("spawned: --port 0 gives both protocols free ports; a port in use and a bad --max-line", async () => {
    await using server = startLesson("04-server/12-dual-server.ts", ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udpEndpoint = await server.listening("udp");
    expect((await udpRequest(udpEndpoint.port, "hi")).toString()).toBe("server (UDP) received: hi");
    await using client = await TcpTestClient.connect(tcp.port);
    client.send("hi\n");
    await client.waitForText(/hi\n/);
    await server.waitFor(/\(TCP\) 127\.0\.0\.1:\d+: hi/);
    const busy = await runLesson("04-server/12-dual-server.ts", [
      "--port",
      "0",
      "--udp-port",
      String(udpEndpoint.port),
    ]);
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim()).toBe(inUse(udpEndpoint.port));
    const bad = await runLesson("04-server/12-dual-server.ts", ["--max-line", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--max-line must be a whole number from 1 to 65507 (got "0")');
    expect((await server.stop()).code).toBe(0);
  });

  test("spawned with --host ::1: TCP and UDP over IPv6, and the client talks to it there", async () => {
    await using server = startLesson("04-server/12-dual-server.ts", [
      "--host",
      "::1",
      "--port",
      "0",
    ]);
    const tcp = await server.listening("tcp");
    const udpEndpoint = await server.listening("udp");
    expect([tcp.host, udpEndpoint.host]).toEqual(["::1", "::1"]);
    const reply = await udpRequest(udpEndpoint.port, "hi", { hostname: "::1" });
    expect(reply.toString()).toBe("server (UDP) received: hi");
    const ports = [
      "--host",
      "::1",
      "--port",
      String(tcp.port),
      "--udp-port",
      String(udpEndpoint.port),
    ];
    const client = await runLesson("04-server/13-dual-client.ts", ["--protocol", "tcp", ...ports], {
      input: "over six\nexit\n",
    });
    expect(client.code).toBe(0);
    expect(client.stdout).toContain("server replied: server (TCP) received: over six\n");
    await server.waitFor(/\(TCP\) \[::1\]:\d+: over six/);
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });
});

describe("13-dual-client", () => {
  test("in-process conversations over TCP and UDP", async () => {
    const server = track(await startDualServer({ tcpPort: 0, udpPort: 0 }));
    const tcp = await talkOverTcp("127.0.0.1", server.tcp.port);
    try {
      expect(await tcp.ask("one")).toBe("server (TCP) received: one");
      expect(await tcp.ask("two")).toBe("server (TCP) received: two");
      expect(await tcp.ask("exit")).toBe("server (TCP): goodbye");
    } finally {
      tcp.close();
    }
    const udpTalk = await talkOverUdp("127.0.0.1", server.udp.port);
    try {
      expect(await udpTalk.ask("three")).toBe("server (UDP) received: three");
    } finally {
      udpTalk.close();
    }
  });

  test("spawned with no arguments: asks tcp or udp, talks until exit", async () => {
    const tcpRun = await runLesson("04-server/13-dual-client.ts", [], {
      input: "tcp\nhello\nexit\nnot sent\n",
    });
    expect(tcpRun.code).toBe(0);
    expect(tcpRun.stdout).toBe(
      [
        "no --host or ports given: started lesson 12's server in this process",
        "server replied: server (TCP) received: hello",
        "server replied: server (TCP): goodbye",
        "conversation over; the server goes on",
        "",
      ].join("\n"),
    );
    const udpRun = await runLesson("04-server/13-dual-client.ts", [], {
      input: "smoke signals\nudp\nhi\n",
    });
    expect(udpRun.code).toBe(0);
    expect(udpRun.stdout).toContain('please answer tcp or udp (got "smoke signals")');
    expect(udpRun.stdout).toContain("server replied: server (UDP) received: hi");
  });

  test("one client's exit ends its conversation only: the spawned server serves the next", async () => {
    await using server = startLesson("04-server/12-dual-server.ts", ["--port", "0"]);
    const tcp = await server.listening("tcp");
    const udpEndpoint = await server.listening("udp");
    const ports = [
      "--host",
      "127.0.0.1",
      "--port",
      String(tcp.port),
      "--udp-port",
      String(udpEndpoint.port),
    ];
    const first = await runLesson("04-server/13-dual-client.ts", ["--protocol", "tcp", ...ports], {
      input: "a\nexit\n",
    });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("server replied: server (TCP): goodbye");
    const second = await runLesson("04-server/13-dual-client.ts", ["--protocol", "tcp", ...ports], {
      input: "b\n",
    });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("server replied: server (TCP) received: b");
    const third = await runLesson("04-server/13-dual-client.ts", ["--protocol", "udp", ...ports], {
      input: "exit\n",
    });
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("server replied: server (UDP): goodbye");
    expect(server.proc.exitCode).toBeNull();
  });

  test("spawned: a line over the server's limit gets its error, then a clear failure", async () => {
    const input = `tcp\n${"w".repeat(MAX_MESSAGE_BYTES + 1)}\nmore\n`;
    const { code, stdout, stderr } = await runLesson("04-server/13-dual-client.ts", [], { input });
    expect(stdout).toContain(
      `server replied: error: line longer than ${MAX_MESSAGE_BYTES} bytes; closing this connection`,
    );
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^127\.0\.0\.1:\d+ closed the connection without a reply\.$/);
  });

  test("spawned: refused (exit 1) and a bad --protocol (exit 2)", async () => {
    const closed = await freePort();
    const run = await runLesson(
      "04-server/13-dual-client.ts",
      ["--protocol", "tcp", "--port", String(closed)],
      {
        input: "hello\n",
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const bad = await runLesson("04-server/13-dual-client.ts", ["--protocol", "http"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--protocol must be tcp or udp (got "http")');
  });
});

describe("14-load", () => {
  test("runLoad: a bounded count of ping-pongs, with percentiles in order", async () => {
    const server = track(await startEchoServer({ port: 0, protocols: ["tcp"] }));
    const result = await runLoad("127.0.0.1", server.tcp?.port ?? 0, {
      connections: 4,
      warmupMs: 50,
      durationMs: 20_000,
      maxRequests: 2_000,
    });
    expect(result.requests).toBe(2_000);
    expect(result.connections).toBe(4);
    expect(result.requestsPerSecond).toBeGreaterThan(0);
    expect(result.p50Ms).toBeLessThanOrEqual(result.p99Ms);
  });

  test("runLoad: refused, and a server that hangs up mid-run, are one sentence each", async () => {
    const closed = await freePort();
    await expect(runLoad("127.0.0.1", closed, { connections: 2 })).rejects.toThrow(
      refused(`127.0.0.1:${closed} (tcp)`),
    );
    // This server hangs up on the first request of each connection.
    const listener = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.end(), error() {} },
    });
    track({ stop: () => listener.stop(true) });
    await expect(
      runLoad("127.0.0.1", listener.port, { connections: 3, warmupMs: 10, durationMs: 200 }),
    ).rejects.toThrow(`127.0.0.1:${listener.port} closed 3 connections early.`);
  });

  test("spawned with no --port: starts lesson 10's server as a child and prints one JSON document", async () => {
    const args = ["--connections", "5", "--seconds", "1", "--requests", "3000", "--json"];
    const { code, stdout } = await runLesson("04-server/14-load.ts", args);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      server: string;
      requests: number;
      connections: number;
      p50Ms: number;
    };
    expect(report).toMatchObject({ requests: 3000, connections: 5 });
    expect(report.server).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(report.p50Ms).toBeGreaterThan(0);
  });

  test("spawned: a bad --connections is exit 2", async () => {
    const { code, stderr } = await runLesson("04-server/14-load.ts", ["--connections", "0"]);
    expect(code).toBe(2);
    expect(stderr).toStartWith('--connections must be a whole number from 1 to 10000 (got "0")');
  });
});
