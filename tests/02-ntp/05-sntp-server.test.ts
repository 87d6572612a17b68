/**
 * 02-ntp/05-sntp-server.ts: answer() on its own, the server in-process (48 bytes out
 * whatever came in, garbage ignored, the reply guard), and the file run as a student would
 * (its lines, Ctrl-C, IPv6, its flags and their mistakes).
 */
import { describe, expect, test } from "bun:test";
import { answer, startNtpServer } from "../../02-ntp/05-sntp-server.ts";
import * as ntp from "../../02-ntp/ntp-packet.ts";
import {
  expectUsageError,
  inUse,
  logCollector,
  runLesson,
  startLesson,
  tracker,
  udpRequest,
} from "../helpers.ts";
import { clientRequest, failure, now } from "./fake-ntp.ts";

const SERVER = "02-ntp/05-sntp-server.ts";
const track = tracker();

/** A UDP socket of the test's own, closed after the test. */
async function udpClient(port = 0, hostname = "127.0.0.1") {
  const socket = await Bun.udpSocket({ hostname, port, socket: { error() {} } });
  track({ stop: () => socket.close() });
  return socket;
}

describe("answer(): the reply to one datagram", () => {
  const me = {
    stratum: 1,
    referenceId: ntp.encodeReferenceId(1, "LOCL"),
    precision: -20,
    referenceTimestamp: ntp.toNtpTimestamp(Date.UTC(2025, 0, 1)),
  };

  test("a client request gets mode 4, its own version and poll, and its transmit time as origin", () => {
    const request = clientRequest(Date.UTC(2025, 2, 1, 12));
    // An NTPv3 client, polling every 2^7 s.
    request[0] = (0 << 6) | (3 << 3) | 3;
    request[2] = 7;
    const reply = answer(request, Date.UTC(2025, 2, 1, 12, 0, 1), me);
    if (typeof reply === "string") throw new Error(reply);
    expect(reply).toMatchObject({ leap: 0, version: 3, mode: 4, stratum: 1, poll: 7 });
    expect(reply.originTimestamp).toEqual(ntp.toNtpTimestamp(Date.UTC(2025, 2, 1, 12)));
    expect(ntp.toUnixMs(reply.receiveTimestamp)).toBe(Date.UTC(2025, 2, 1, 12, 0, 1));
    expect(ntp.referenceIdText(1, reply.referenceId)).toBe("LOCL");
  });

  test("anything but a well-formed client request is ignored, with the reason", () => {
    const request = clientRequest();
    const withFirstByte = (first: number): Uint8Array => {
      const copy = request.slice();
      copy[0] = first;
      return copy;
    };
    expect(answer(request.subarray(0, 47), 0, me)).toBe("47 bytes, too short for NTP");
    expect(answer(new Uint8Array(0), 0, me)).toBe("0 bytes, too short for NTP");
    expect(answer(withFirstByte((4 << 3) | 4), 0, me)).toBe(
      "mode 4 (server), not a client request",
    );
    expect(answer(withFirstByte((4 << 3) | 6), 0, me)).toBe(
      "mode 6 (control message), not a client request",
    );
    expect(answer(withFirstByte((0 << 3) | 3), 0, me)).toBe("NTP version 0, not 1-4");
    expect(answer(withFirstByte((5 << 3) | 3), 0, me)).toBe("NTP version 5, not 1-4");
    expect(answer(withFirstByte((7 << 3) | 3), 0, me)).toBe("NTP version 7, not 1-4");
    expect(typeof answer(withFirstByte((1 << 3) | 3), 0, me)).toBe("object");
  });
});

describe("the server in-process", () => {
  test("answers with 48 bytes whatever the request's length, never more than it got", async () => {
    const { lines, log } = logCollector();
    const server = track(await startNtpServer({ port: 0, log }));
    for (const extra of [0, 20, 100]) {
      const request = new Uint8Array(48 + extra);
      request.set(clientRequest());
      const reply = await udpRequest(server.udp.port, request);
      expect(reply.length).toBe(48);
      expect([...reply.subarray(24, 32)]).toEqual([...request.subarray(40, 48)]);
    }
    // udpRequest resends on silence, so count the log's lines rather than assume 3.
    const answered = lines.filter((line) => line.startsWith("answered"));
    expect(server.counts.answered).toBe(answered.length);
    expect(answered[0]).toMatch(/^answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)$/);
    expect(answered.at(-1)).toMatch(/\(NTPv4, 148 bytes in, 48 out\)$/);
  });

  test("the receive and transmit times bracket the moment of the request", async () => {
    const server = track(await startNtpServer({ port: 0, stratum: 3, refid: "192.0.2.9" }));
    const t1 = now();
    const bytes = await udpRequest(server.udp.port, clientRequest(t1));
    const t4 = now();
    const reply = ntp.decodePacket(bytes);
    const t2 = ntp.toUnixMs(reply.receiveTimestamp);
    const t3 = ntp.toUnixMs(reply.transmitTimestamp);
    // Same process, same clock: T1 <= T2 <= T3 <= T4 (to the 2^-32 s of NTP's fraction).
    expect(t2).toBeGreaterThanOrEqual(t1 - 0.001);
    expect(t3).toBeGreaterThanOrEqual(t2);
    expect(t4).toBeGreaterThanOrEqual(t3 - 0.001);
    expect(reply.stratum).toBe(3);
    expect(ntp.referenceIdText(3, reply.referenceId)).toBe("192.0.2.9");
    expect(reply.precision).toBeLessThan(-9);
  });

  test("garbage is counted and logged, and the server keeps answering", async () => {
    const { lines, log } = logCollector();
    const server = track(await startNtpServer({ port: 0, log }));
    const socket = await udpClient();
    socket.send("hello\n", server.udp.port, "127.0.0.1");
    socket.send(new Uint8Array(48).fill(0x24), server.udp.port, "127.0.0.1");
    await udpRequest(server.udp.port, clientRequest());
    expect(server.counts.ignored).toBe(2);
    expect(lines.filter((line) => line.startsWith("ignored"))).toEqual([
      `ignored 127.0.0.1:${socket.port}: 6 bytes, too short for NTP`,
      `ignored 127.0.0.1:${socket.port}: mode 4 (server), not a client request`,
    ]);
  });

  test("the reply guard: at most --rate replies a second to one source, and others still served", async () => {
    const { log, waitFor } = logCollector();
    // One reply a second, two at once: the third of a quick burst is refused.
    const server = track(await startNtpServer({ port: 0, rate: 1, log }));
    const flooder = await udpClient();
    for (let sent = 0; sent < 10; sent++)
      flooder.send(clientRequest(), server.udp.port, "127.0.0.1");
    await waitFor(new RegExp(`refused 127\\.0\\.0\\.1:${flooder.port}: `));
    await udpRequest(server.udp.port, clientRequest());
    expect(server.counts.answered).toBe(3);
    expect(server.counts.refused).toBe(8);
  });

  test.skipIf(process.getuid?.() !== 0)(
    "the reply guard: a request from port 19 (chargen, which answers anything) gets no reply",
    async () => {
      const { lines, log, waitFor } = logCollector();
      const server = track(await startNtpServer({ port: 0, log }));
      // 127.0.0.19, not .1: a port of the loopback nobody else on this machine uses.
      const chargen = await udpClient(19, "127.0.0.19");
      chargen.send(clientRequest(), server.udp.port, "127.0.0.1");
      await waitFor(/^refused 127\.0\.0\.19:19: /);
      expect(lines.filter((line) => line.startsWith("answered"))).toEqual([]);
      expect(server.counts).toEqual({ answered: 0, ignored: 0, refused: 1 });
    },
  );

  test("a port in use is an EADDRINUSE error", async () => {
    const first = track(await startNtpServer({ port: 0 }));
    expect(await failure(startNtpServer({ port: first.udp.port }))).toMatchObject({
      code: "EADDRINUSE",
    });
  });
});

describe("run as a student would", () => {
  test("prints its listening line, answers, logs, and stops on Ctrl-C with its counts", async () => {
    await using lesson = startLesson(SERVER, ["--port", "0"]);
    const { host, port } = await lesson.listening("udp");
    expect(host).toBe("127.0.0.1");
    await lesson.waitFor(/Ctrl-C stops the server\n/);
    expect(lesson.stdout).toContain(
      `try  bun run 02-ntp/03-clock-offset.ts --host 127.0.0.1 --port ${port}`,
    );
    const reply = ntp.decodePacket(await udpRequest(port, clientRequest()));
    expect(reply).toMatchObject({ mode: 4, stratum: 1, version: 4 });
    expect(ntp.referenceIdText(1, reply.referenceId)).toBe("LOCL");
    const socket = await udpClient();
    socket.send("hi", port, "127.0.0.1");
    await lesson.waitFor(/ignored 127\.0\.0\.1:\d+: 2 bytes, too short for NTP\n/);
    const { code, stdout } = await lesson.stop("SIGINT");
    expect(code).toBe(0);
    expect(stdout).toMatch(/answered 127\.0\.0\.1:\d+ \(NTPv4, 48 bytes in, 48 out\)/);
    const answered = stdout.match(/^answered 127/gm)?.length ?? 0;
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(stdout).toEndWith(
      `answered ${answered}, ignored 1, refused 0\nstopped by SIGINT: the port is free again\n`,
    );
  });

  test("stops cleanly on SIGTERM", async () => {
    await using lesson = startLesson(SERVER, ["--port", "0"]);
    await lesson.listening("udp");
    expect((await lesson.stop("SIGTERM")).code).toBe(0);
  });

  test("listens on IPv6 loopback with --host ::1, and shows it in brackets", async () => {
    await using lesson = startLesson(SERVER, ["--host", "::1", "--port", "0"]);
    const { host, port } = await lesson.listening("udp");
    expect(host).toBe("::1");
    expect(lesson.stdout).toMatch(/^listening on \[::1\]:\d+ \(udp\)$/m);
    const reply = await udpRequest(port, clientRequest(), { hostname: "::1" });
    expect(ntp.decodePacket(reply).mode).toBe(4);
    const args = ["--host", "::1", "--port", String(port), "--json"];
    const asked = await runLesson("02-ntp/02-careful-client.ts", args);
    expect(JSON.parse(asked.stdout)).toMatchObject({ address: "::1", accepted: true });
  });

  test("--stratum 2 --refid 192.0.2.5: the reply says so", async () => {
    const args = ["--port", "0", "--stratum", "2", "--refid", "192.0.2.5"];
    await using lesson = startLesson(SERVER, args);
    const { port } = await lesson.listening("udp");
    const reply = ntp.decodePacket(await udpRequest(port, clientRequest()));
    expect(reply.stratum).toBe(2);
    expect([...reply.referenceId]).toEqual([192, 0, 2, 5]);
  });

  test("a port in use: one sentence naming the port, exit 1", async () => {
    const holder = await udpClient();
    const run = await runLesson(SERVER, ["--port", String(holder.port)]);
    expect(run).toEqual({ code: 1, stdout: "", stderr: `${inUse(holder.port)}\n` });
  });

  const usageErrors: [string[], string][] = [
    [
      ["--host", "no-such-host.invalid"],
      '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "no-such-host.invalid")',
    ],
    [["--stratum", "0"], '--stratum must be a whole number from 1 to 15 (got "0")'],
    [["--stratum", "16"], '--stratum must be a whole number from 1 to 15 (got "16")'],
    [["--stratum", "-1"], '--stratum must be a whole number from 1 to 15 (got "-1")'],
    [["--port", "65536"], '--port must be a whole number from 0 to 65535 (got "65536")'],
    [["--port", "1.5"], '--port must be a whole number from 0 to 65535 (got "1.5")'],
    [["--rate", "0"], '--rate must be a whole number of at least 1 (got "0")'],
    [
      ["--refid", "gps"],
      '--refid: at stratum 1 the reference ID is 1-4 capital letters or digits (like GPS or LOCL), not "gps"',
    ],
    [
      ["--stratum", "3", "--refid", "LOCL"],
      '--refid: at stratum 3 the reference ID is the IPv4 address of the server followed, not "LOCL"',
    ],
  ];
  test.each(usageErrors)("%p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(SERVER, ["--port", "0", ...args], sentence);
  });
});
