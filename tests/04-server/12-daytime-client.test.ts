// Lesson 12, the daytime client: over TCP it reads until the close, over UDP it pads its
// request, resends on silence and trusts only the server; every failure is one sentence.
import { describe, expect, test } from "bun:test";
import type { Socket, udp } from "bun";
import { startDaytimeServer } from "../../04-server/11-daytime-server.ts";
import { askDaytime } from "../../04-server/12-daytime-client.ts";
import { closedPort, runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/12-daytime-client.ts";

const refused = (where: string): string =>
  `${where} refused the connection: nothing listens there; start the server, or check --host and --port`;
const unreachable = (where: string): string =>
  `${where}: port unreachable, nothing listens on that UDP port; start the server, or check --host and --port`;

/** A UDP socket on loopback for fake servers; closed after the test. */
async function fakeUdpServer(
  onDatagram: (socket: udp.Socket<"buffer">, data: Buffer, port: number) => void,
) {
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(s, data, port) {
        onDatagram(s, data, port);
      },
      error() {},
    },
  });
  const fake = {
    port: socket.port,
    send: (data: string, port: number, address: string) => socket.send(data, port, address),
    stop: () => socket.close(),
  };
  track(fake);
  return fake;
}

/** A TCP listener for fake servers, closed with its connections after the test. */
const fakeTcpServer = (open: (socket: Socket<undefined>) => void) =>
  track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open, data() {}, error() {} } }));

describe("12-daytime-client in-process", () => {
  test("asks lesson 11's server over TCP (reads until the close) and over UDP", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const server = track(await startDaytimeServer("127.0.0.1", 0, { now: () => now }));
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
    expect((await askDaytime("tcp", "127.0.0.1", listener.port)).time).toBe(
      "Tue, 01 Jan 2030 00:00:00 GMT",
    );
  });

  test("UDP: the request is padded to 64 bytes, so a server that never answers with more than it got can answer", async () => {
    const sizes: number[] = [];
    const server = await fakeUdpServer((socket, data, port) => {
      sizes.push(data.length);
      if (data.length >= 31) socket.send("Tue, 01 Jan 2030 00:00:00 GMT\r\n", port, "127.0.0.1");
    });
    expect((await askDaytime("udp", "127.0.0.1", server.port)).bytes).toBe(31);
    expect(sizes).toEqual([64]);
  });

  test("UDP: a lost datagram is sent again, and the answer says how many tries it took", async () => {
    let seen = 0;
    const server = await fakeUdpServer((socket, _data, port) => {
      // The first is "lost".
      if (++seen >= 2) socket.send("time\r\n", port, "127.0.0.1");
    });
    expect(await askDaytime("udp", "127.0.0.1", server.port, 200)).toMatchObject({
      time: "time",
      attempts: 2,
    });
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

  test("failures are one sentence: refused (TCP and UDP), silence, an answer that never ends, one too long", async () => {
    const closed = closedPort();
    await expect(askDaytime("tcp", "127.0.0.1", closed)).rejects.toThrow(
      refused(`127.0.0.1:${closed} (tcp)`),
    );
    await expect(askDaytime("udp", "127.0.0.1", closed)).rejects.toThrow(
      unreachable(`127.0.0.1:${closed} (udp)`),
    );
    const silent = await fakeUdpServer(() => {});
    await expect(askDaytime("udp", "127.0.0.1", silent.port, 100)).rejects.toThrow(
      `127.0.0.1:${silent.port} (udp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    );
    const neverCloses = fakeTcpServer((socket) => void socket.write("Tue\r\n"));
    await expect(askDaytime("tcp", "127.0.0.1", neverCloses.port, 100)).rejects.toThrow(
      `127.0.0.1:${neverCloses.port} (tcp) did not finish its answer in 500 ms`,
    );
    const chatty = fakeTcpServer((socket) => void socket.write(Buffer.alloc(5000, 65)));
    await expect(askDaytime("tcp", "127.0.0.1", chatty.port)).rejects.toThrow(
      `127.0.0.1:${chatty.port} (tcp) sent over 4096 bytes: not a daytime server`,
    );
  });
});

describe("12-daytime-client as a student runs it", () => {
  test("with no arguments it starts lesson 11's server in-process, says so, prints the time", async () => {
    const { code, stdout } = await runLesson(FILE);
    expect(code).toBe(0);
    expect(stdout).toContain("no --host or --port given: started lesson 11's server here");
    const time = stdout.match(/127\.0\.0\.1:\d+ \(tcp\) says: (.+)/)?.[1] ?? "";
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(60_000);
    expect(stdout).toMatch(/31 bytes in [\d.]+ ms, answered on try 1/);
  });

  test("--protocol udp --json against a spawned server: one JSON document", async () => {
    await using server = startLesson("04-server/11-daytime-server.ts", [
      "--port",
      "0",
      "--protocol",
      "udp",
    ]);
    const { port } = await server.listening("udp");
    const args = ["--protocol", "udp", "--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout } = await runLesson(FILE, args);
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
    const closed = closedPort();
    const refusedRun = await runLesson(FILE, ["--port", String(closed)]);
    expect(refusedRun.code).toBe(1);
    expect(refusedRun.stderr.trim()).toBe(refused(`127.0.0.1:${closed} (tcp)`));
    const bad = await runLesson(FILE, ["--protocol", "icmp"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith('--protocol must be tcp or udp (got "icmp")\n\nusage:');
  });

  test(
    "against a TCP server that never closes: one sentence, exit 1, and the process ends",
    async () => {
      const mute = fakeTcpServer(() => {});
      const run = await runLesson(FILE, ["--port", String(mute.port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `127.0.0.1:${mute.port} (tcp) did not finish its answer in 5000 ms\n`,
      );
    },
    SLOW_TEST_MS,
  );

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--host", ""], '--host must be a host name or an IP address (got "")'],
  ])("%p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
