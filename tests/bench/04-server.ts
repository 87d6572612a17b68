/**
 * Chapter 04's benchmark: lesson 22's load generator drives 50 connections of 64-byte
 * ping-pong against three echo servers in turn, each in its own process: ours (lesson 16,
 * Bun.listen), and the two a student of the Python lab would write, asyncio streams and a
 * thread per client. Reported, never asserted: req/s and p50/p99 for each, and the goal
 * (ours at least 1.5x asyncio and 2.5x threaded, with a lower p99 than both).
 */
import { runLoad, spawnEchoServer } from "../../04-server/22-load.ts";
import type { BenchRow } from "../bench.ts";
import { hasCommand } from "../helpers.ts";

/** The asyncio echo server of the Python lab's style: streams, read, write, drain. */
const ASYNCIO_ECHO = `
import asyncio

async def handle(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
`;

/** The thread-per-client echo server of server-05.py's style: accept, then a thread each. */
const THREADED_ECHO = `
import socket
import threading

def client_thread(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(128)
print(server.getsockname()[1], flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=client_thread, args=(conn,), daemon=True).start()
`;

const CHAPTER = "04-server";
const LOAD = { connections: 50, payloadBytes: 64, warmupMs: 1_000, durationMs: 3_000 };
const WORKLOAD = "echo ping-pong, 50 conns x 64 B, 3 s";

type Server = { port: number; stop: () => Promise<void> };
type Measured = Awaited<ReturnType<typeof runLoad>>;

/** Starts a Python echo server on port 0 and reads the port it prints. */
async function spawnPython(source: string): Promise<Server> {
  const child = Bun.spawn(["python3", "-c", source], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/^\d+\n/.test(seen)) {
    const { value, done } = await reader.read();
    if (done)
      throw new Error(
        `python3 exited before printing its port: ${await new Response(child.stderr).text()}`,
      );
    seen += value;
  }
  return {
    port: Number.parseInt(seen, 10),
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

async function measure(start: () => Promise<Server>): Promise<Measured> {
  const server = await start();
  try {
    return await runLoad("127.0.0.1", server.port, LOAD);
  } finally {
    await server.stop();
  }
}

const figure = (run: Measured): string =>
  `${Math.round(run.requestsPerSecond).toLocaleString("en-US")} req/s, p50 ${run.p50Ms.toFixed(3)} ms, p99 ${run.p99Ms.toFixed(3)} ms`;

export async function bench(): Promise<BenchRow[]> {
  const ours = await measure(spawnEchoServer);
  const row = (name: string, result: string, yardstick: string, goal: string): BenchRow => ({
    chapter: CHAPTER,
    name: `${WORKLOAD}: ${name}`,
    result,
    yardstick,
    goal,
  });
  if (!hasCommand("python3"))
    return [
      row(
        "Bun.listen (16-echo-tcp-server.ts)",
        figure(ours),
        "python3 not installed (Debian package python3)",
        "not measured",
      ),
    ];
  const asyncio = await measure(() => spawnPython(ASYNCIO_ECHO));
  const threaded = await measure(() => spawnPython(THREADED_ECHO));
  const overAsyncio = ours.requestsPerSecond / asyncio.requestsPerSecond;
  const overThreaded = ours.requestsPerSecond / threaded.requestsPerSecond;
  const lowerP99 = ours.p99Ms < asyncio.p99Ms && ours.p99Ms < threaded.p99Ms;
  const met = overAsyncio >= 1.5 && overThreaded >= 2.5 && lowerP99;
  const verdict =
    `>= 1.5x asyncio, >= 2.5x threaded, lower p99: ${overAsyncio.toFixed(2)}x, ` +
    `${overThreaded.toFixed(2)}x, p99 ${lowerP99 ? "lower" : "not lower"}; ${met ? "met" : "NOT met"}`;
  return [
    row(
      "Bun.listen (16-echo-tcp-server.ts)",
      figure(ours),
      "the two rows below, same run",
      verdict,
    ),
    row("Python asyncio streams", figure(asyncio), "yardstick", "-"),
    row("Python thread per client", figure(threaded), "yardstick", "-"),
  ];
}
