// Lesson 15, the daytime client over UDP: it pads its request, resends on silence and trusts
// only the server; every failure is one sentence.
import { describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { daytimeOverUdp } from "../../04-server/14-daytime-udp-server.ts";
import { askDaytime } from "../../04-server/15-daytime-udp-client.ts";
import { closedPort, runLesson, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const FILE = "04-server/15-daytime-udp-client.ts";

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

describe("15-daytime-udp-client in-process", () => {
  test("asks lesson 14's server: the time, on the first try", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const server = track(await daytimeOverUdp("127.0.0.1", 0, { now: () => now }));
    expect(await askDaytime("127.0.0.1", server.udp.port)).toMatchObject({
      time: "Tue, 01 Jan 2030 00:00:00 GMT",
      bytes: 31,
      attempts: 1,
    });
  });

  test("the request is padded to 64 bytes, so a server that never answers with more than it got can answer", async () => {
    const sizes: number[] = [];
    const server = await fakeUdpServer((socket, data, port) => {
      sizes.push(data.length);
      if (data.length >= 31) socket.send("Tue, 01 Jan 2030 00:00:00 GMT\r\n", port, "127.0.0.1");
    });
    expect((await askDaytime("127.0.0.1", server.port)).bytes).toBe(31);
    expect(sizes).toEqual([64]);
  });

  test("a lost datagram is sent again, and the answer says how many tries it took", async () => {
    let seen = 0;
    const server = await fakeUdpServer((socket, _data, port) => {
      // The first is "lost".
      if (++seen >= 2) socket.send("time\r\n", port, "127.0.0.1");
    });
    expect(await askDaytime("127.0.0.1", server.port, 200)).toMatchObject({
      time: "time",
      attempts: 2,
    });
    expect(seen).toBe(2);
  });

  test("a datagram from someone else is not taken for the answer", async () => {
    const stranger = await fakeUdpServer(() => {});
    const server = await fakeUdpServer((socket, _data, port) => {
      stranger.send("not the time", port, "127.0.0.1");
      socket.send("the time", port, "127.0.0.1");
    });
    expect((await askDaytime("127.0.0.1", server.port)).time).toBe("the time");
  });

  test("failures are one sentence: nothing listens, silence", async () => {
    const closed = closedPort();
    await expect(askDaytime("127.0.0.1", closed)).rejects.toThrow(
      unreachable(`127.0.0.1:${closed} (udp)`),
    );
    const silent = await fakeUdpServer(() => {});
    await expect(askDaytime("127.0.0.1", silent.port, 100)).rejects.toThrow(
      `127.0.0.1:${silent.port} (udp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    );
  });
});

describe("15-daytime-udp-client as a student runs it", () => {
  test("with no arguments it starts lesson 14's server for this run, says so, prints the time", async () => {
    const { code, stdout, stderr } = await runLesson(FILE);
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^no --host or --port: started 04-server\/14-daytime-udp-server\.ts on /,
    );
    const time = stdout.match(/127\.0\.0\.1:\d+ \(udp\) says: (.+)/)?.[1] ?? "";
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(60_000);
    expect(stdout).toMatch(/31 bytes in [\d.]+ ms, answered on try 1/);
  });

  test("--json against a spawned server: one JSON document", async () => {
    await using server = startLesson("04-server/14-daytime-udp-server.ts", ["--port", "0"]);
    const { port } = await server.listening("udp");
    const args = ["--host", "127.0.0.1", "--port", String(port), "--json"];
    const { code, stdout } = await runLesson(FILE, args);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { port: number; time: string; attempts: number };
    expect(answer).toMatchObject({ port, attempts: 1 });
    expect(answer.time).toMatch(/GMT$/);
  });

  test("silence: one sentence after 3 tries of --wait seconds, exit 1", async () => {
    const silent = await fakeUdpServer(() => {});
    const run = await runLesson(FILE, ["--port", String(silent.port), "--wait", "0.1"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `127.0.0.1:${silent.port} (udp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    );
  });

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--host", ""], '--host must be a host name or an IP address (got "")'],
    [["--wait", "0"], '--wait must be a number from 0.001 to 60 (got "0")'],
  ])("%p: exit 2, the reason, then the usage", async (args, reason) => {
    const { code, stdout, stderr } = await runLesson(FILE, args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`${reason}\n\nusage: bun run ${FILE}`);
  });
});
