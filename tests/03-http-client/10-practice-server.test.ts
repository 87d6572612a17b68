// 10-practice-server: lessons 07, 08 and 09 in one process, on three ports: each practice URL
// on the listener that serves it, a `listening on` line for each, a clean stop that says so,
// and one sentence for a port that is taken or out of range.
import { describe, expect, test } from "bun:test";
import { PRACTICE_CERT, startPracticeServer } from "../../03-http-client/10-practice-server.ts";
import { inUse, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { ask, CA } from "./raw-server.ts";

const FILE = "03-http-client/10-practice-server.ts";
const track = tracker();

/** A listener on a port whose previous port was free a moment ago. */
function takenAfterFree(): Bun.TCPSocketListener<undefined> {
  for (;;) {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      Bun.listen({ hostname: "127.0.0.1", port: listener.port - 1, socket: { data() {} } }).stop(
        true,
      );
      return listener;
    } catch {
      listener.stop(true);
    }
  }
}

describe("10-practice-server: every practice path, three listeners, one process", () => {
  test("startPracticeServer: each URL on the listener that serves it; / lists them all", async () => {
    const practice = track(await startPracticeServer({}));
    const [correct, raw, large] = practice.ports;
    expect(practice.url("/chunked")).toBe(`http://127.0.0.1:${correct}/chunked`);
    expect(practice.url("/broken/stall")).toBe(`http://127.0.0.1:${raw}/broken/stall`);
    expect(practice.url("/large?bytes=10")).toBe(`http://127.0.0.1:${large}/large?bytes=10`);
    const index = await ask(correct ?? 0, "/");
    const listed = index.body.toString().trim().split("\n");
    expect(listed).toContain(practice.url("/broken/stall"));
    expect(listed).toContain(practice.url("/trailers"));
    expect(listed).toContain(practice.url("/large?bytes=N"));
    expect(listed).toHaveLength(16);
    expect(practice.ca).toBeUndefined();
    const secure = track(await startPracticeServer({ tls: true }));
    expect(secure.url("/")).toStartWith("https://127.0.0.1:");
    expect(secure.ca).toBe(CA);
    expect(PRACTICE_CERT).toEndWith("03-http-client/localhost-cert.pem");
  });

  test("run as a student: a listening line per port, each answers, a bad client changes nothing, SIGINT stops it and says so", async () => {
    await using server = startLesson(FILE, ["--port", "0"]);
    await server.waitFor(/Ctrl-C stops the server\n/);
    const ports = [...server.stdout.matchAll(/listening on 127\.0\.0\.1:(\d+) \(tcp\)\n/g)].map(
      (match) => Number(match[1]),
    );
    expect(ports).toHaveLength(3);
    const [correct = 0, raw = 0, large = 0] = ports;
    // A client that sends garbage and hangs up, on each port; then real requests still work.
    for (const port of ports) {
      await using bad = await TcpTestClient.connect(port);
      bad.send(`GARBAGE ${"x".repeat(20_000)}\r\n\r\n`);
    }
    expect((await ask(correct, "/chunked")).parser.framing).toBe("chunked");
    expect((await ask(raw, "/trailers")).parser.trailers).toEqual([["X-Checksum", "12 bytes"]]);
    expect((await ask(large, "/large?bytes=640")).body.length).toBe(640);
    const stopped = await server.stop("SIGINT");
    expect({ code: stopped.code, last: stopped.stdout.trim().split("\n").at(-1) }).toEqual({
      code: 0,
      last: "stopped by SIGINT: the port is free again",
    });
  });

  test("run as a student: a port in use (the first, or one after it) and a bad port are one sentence each", async () => {
    const taken = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const first = await runLesson(FILE, ["--port", String(taken.port)]);
    expect({ code: first.code, err: first.stderr.trim() }).toEqual({
      code: 1,
      err: inUse(taken.port),
    });
    // Its hand-written responses go on the next port: that one is named when it is taken.
    const next = track(takenAfterFree());
    const before = await runLesson(FILE, ["--port", String(next.port - 1)]);
    expect({ code: before.code, err: before.stderr.trim() }).toEqual({
      code: 1,
      err: inUse(next.port),
    });
    for (const port of ["65534", "70000"]) {
      const bad = await runLesson(FILE, ["--port", port]);
      expect({ code: bad.code, first: bad.stderr.split("\n")[0] }).toEqual({
        code: 2,
        first: `--port must be a whole number from 0 to 65533 (got "${port}")`,
      });
    }
  });
});
