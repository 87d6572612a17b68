/**
 * Chapter 07: a GET of a 1 GiB file over loopback, lesson 06's server and lesson 07's client
 * each in a process of its own, beside yardsticks measured in the same run. Reported, never
 * asserted. The file lives on /dev/shm, so the disk is not what is measured.
 *
 * 1. Our GET, best of three, raw (--no-verify) and with SHA-256 verified, to /dev/null and to
 *    a file on /dev/shm; each with the client's peak RSS (GNU time) and the server's (/proc).
 * 2. iperf3 -n 1G: the loopback's own ceiling for one TCP stream. Goal: raw GET >= 0.6x.
 * 3. curl from nginx (sendfile, no copy through user space): what a file server can do.
 * 4. sha256sum of the file, and openssl's SHA-256 (SHA-NI): one core's hashing rate, the
 *    limit of a verified transfer. Goal: verified GET >= 0.8x sha256sum.
 * 5. The lab's design re-created in Python: 4 KB reads and sendall, recv(4096). Goal: >= 3x.
 * 6. Twenty clients fetching the file at once: their total rate, the server's peak RSS.
 * Goal for memory: server and client under 100 MB during the 1 GiB transfer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSample } from "../../07-transfer/01-samples.ts";
import { formatBytes } from "../../07-transfer/protocol.ts";
import type { BenchRow } from "../bench.ts";
import { freePort, hasCommand, lessonPath, ROOT, startLesson, TcpTestClient } from "../helpers.ts";
import { peakRss } from "../hostile/servers.ts";

const CHAPTER = "07-transfer";
/** The file's size: 1 GiB (TRANSFER_BENCH_MIB=64 tries the benchmark itself quickly). */
const FILE_BYTES = Number(process.env.TRANSFER_BENCH_MIB ?? 1024) * 2 ** 20;
const SIZE = formatBytes(FILE_BYTES);
const GiB = 2 ** 30;
const RUNS = 3;

/** The lab's FileTransferServer and its client, as the LAB wrote them: 4 KB at a time. */
const PYTHON_LAB = `
import os, socket, sys, threading, time

def serve(listener, root):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=client, args=(conn, root), daemon=True).start()

def client(conn, root):
    with conn:
        command = conn.recv(1024).decode().strip()
        name = command.split(" ", 1)[1]
        path = os.path.join(root, name)
        conn.sendall(f"SENDING_FILE {os.path.getsize(path)}\\n".encode())
        if conn.recv(1024).decode().strip() != "READY":
            return
        with open(path, "rb") as f:
            while True:
                chunk = f.read(4096)
                if not chunk:
                    break
                conn.sendall(chunk)

def get(port, name):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {name}\\n".encode())
    head = b""
    while not head.endswith(b"\\n"):
        head += s.recv(1)
    size = int(head.split()[1])
    s.sendall(b"READY\\n")
    started = time.perf_counter()
    got = 0
    with open(os.devnull, "wb") as out:
        while got < size:
            chunk = s.recv(4096)
            if not chunk:
                break
            out.write(chunk)
            got += len(chunk)
    print(got, time.perf_counter() - started)

if sys.argv[1] == "serve":
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    serve(listener, sys.argv[2])
else:
    get(int(sys.argv[2]), sys.argv[3])
`;

interface Got {
  seconds: number;
  clientMiB: number;
}

const rate = (bytes: number, seconds: number): number => bytes / seconds;
const shown = (bytesPerSecond: number): string => `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;
const gib = (bytesPerSecond: number): string => `${(bytesPerSecond / GiB).toFixed(2)} GiB/s`;

/** Runs a command to its end; stdout and stderr as text. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(argv, { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/** One GET by lesson 07's client in its own process: its own timing, its peak RSS. */
async function ourGet(port: number, out: string, verify: boolean): Promise<Got> {
  const client = [lessonPath("07-transfer/07-client.ts"), "get", "big.bin", "--port", String(port)];
  const flags = ["--out", out, "--replace", "--json", ...(verify ? [] : ["--no-verify"])];
  const timed = hasCommand("time") ? ["/usr/bin/time", "-f", "maxrss %M"] : [];
  const { code, stdout, stderr } = await run([...timed, "bun", "run", ...client, ...flags]);
  if (code !== 0) throw new Error(`07-client failed: ${stderr.trim()}`);
  const kib = Number(stderr.match(/maxrss (\d+)/)?.[1] ?? Number.NaN);
  return { seconds: (JSON.parse(stdout) as { ms: number }).ms / 1000, clientMiB: kib / 1024 };
}

/** Best of RUNS for one way of fetching. */
async function best(fetch: () => Promise<Got>): Promise<Got> {
  const runs: Got[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await fetch());
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

/** Reads `stream` until `text` has come, returns what came, and drains the rest unseen. */
async function readUntil(
  stream: ReadableStream<Uint8Array<ArrayBuffer>>,
  text: string,
): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the program ended before printing ${JSON.stringify(text)}`);
    seen += value;
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return seen;
}

/** iperf3 -n 1G, best of three: bytes per second received. */
async function iperf(): Promise<number | undefined> {
  if (!hasCommand("iperf3")) return undefined;
  let bestRate = 0;
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    // --forceflush: through a pipe iperf3 would hold its "listening" line in a buffer.
    const argv = ["iperf3", "-s", "-1", "--forceflush", "-p", String(port)];
    const server = Bun.spawn(argv, { stdout: "pipe" });
    await readUntil(server.stdout, "listening");
    const { stdout } = await run([
      "iperf3",
      "-c",
      "127.0.0.1",
      "-p",
      String(port),
      "-n",
      "1G",
      "-J",
    ]);
    await server.exited;
    const report = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    bestRate = Math.max(bestRate, report.end.sum_received.bits_per_second / 8);
  }
  return bestRate;
}

/** curl from nginx (sendfile), best of three: bytes per second. */
async function nginx(dir: string, root: string): Promise<number | undefined> {
  if (!hasCommand("nginx") || !hasCommand("curl")) return undefined;
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  mkdirSync(join(dir, "nginx-temp"));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `${kind}_temp_path ${dir}/nginx-temp/${kind};`)
    .join(" ");
  writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; ${temp}
  server { listen 127.0.0.1:${port}; root ${root}; } }\n`,
  );
  const server = Bun.spawn(["nginx", "-c", conf, "-p", dir], { stdout: "ignore", stderr: "pipe" });
  try {
    for (let tries = 0; tries < 100; tries++) {
      const up = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
        (socket) => {
          socket.end();
          return true;
        },
        () => false,
      );
      if (up) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    let bestRate = 0;
    for (let i = 0; i < RUNS; i++) {
      const url = `http://127.0.0.1:${port}/big.bin`;
      const { stdout } = await run([
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{speed_download}",
        url,
      ]);
      bestRate = Math.max(bestRate, Number(stdout));
    }
    return bestRate;
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}

/** Seconds a hashing command takes over the file, best of two. */
async function hashing(argv: string[]): Promise<number | undefined> {
  if (!hasCommand(argv[0] ?? "")) return undefined;
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++) {
    const started = performance.now();
    const { code } = await run(argv);
    if (code !== 0) return undefined;
    fastest = Math.min(fastest, (performance.now() - started) / 1000);
  }
  return fastest;
}

/** The lab's design in Python, best of two: seconds for the file to /dev/null. */
async function pythonLab(dir: string, root: string): Promise<number | undefined> {
  if (!hasCommand("python3")) return undefined;
  const script = join(dir, "lab.py");
  writeFileSync(script, PYTHON_LAB);
  const server = Bun.spawn(["python3", script, "serve", root], { stdout: "pipe" });
  try {
    const seen = await readUntil(server.stdout, "\n");
    let fastest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 2; i++) {
      const { stdout } = await run(["python3", script, "get", seen.trim(), "big.bin"]);
      fastest = Math.min(fastest, Number(stdout.split(" ")[1]));
    }
    return fastest;
  } finally {
    server.kill();
    await server.exited;
  }
}

/** Twenty client processes at once: the wall time from start to the last one's end. */
async function twenty(port: number): Promise<{ seconds: number; slowest: number }> {
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: 20 }, () =>
      run([
        "bun",
        "run",
        lessonPath("07-transfer/07-client.ts"),
        "get",
        "big.bin",
        "--port",
        String(port),
        "--out",
        "/dev/null",
        "--no-verify",
        "--json",
      ]),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const one of runs) if (one.code !== 0) throw new Error(`a client failed: ${one.stderr}`);
  const slowest = Math.max(...runs.map((one) => (JSON.parse(one.stdout) as { ms: number }).ms));
  return { seconds, slowest: slowest / 1000 };
}

export async function bench(): Promise<BenchRow[]> {
  const dir = mkdtempSync("/dev/shm/bench-07-");
  const root = join(dir, "root");
  const downloads = join(dir, "downloads");
  mkdirSync(root);
  mkdirSync(downloads);
  const row = (name: string, result: string, yardstick: string, goal: string): BenchRow => ({
    chapter: CHAPTER,
    name,
    result,
    yardstick,
    goal,
  });
  try {
    writeSample(join(root, "big.bin"), "random", FILE_BYTES);
    await using server = startLesson("07-transfer/06-file-server.ts", [
      "--port",
      "0",
      "--root",
      root,
    ]);
    const { port } = await server.listening();
    const pid = server.proc.pid;

    // The first GET of a version hashes it before announcing; later ones are told at once.
    await using first = await TcpTestClient.connect(port);
    const asked = performance.now();
    first.send("GET big.bin\n");
    await first.waitForText(/SENDING_FILE/, 60_000);
    const firstMs = performance.now() - asked;
    first.send("CANCEL\nGET big.bin\n");
    const again = performance.now();
    await first.waitForText(/SENDING_FILE[^\n]*\nOK cancelled\nSENDING_FILE/, 60_000);
    const againMs = performance.now() - again;
    first.send("CANCEL\n");

    const measured = await peakRss(
      pid,
      (async () => ({
        rawNull: await best(() => ourGet(port, "/dev/null", false)),
        rawShm: await best(() => ourGet(port, downloads, false)),
        verifiedNull: await best(() => ourGet(port, "/dev/null", true)),
        verifiedShm: await best(() => ourGet(port, downloads, true)),
      }))(),
    );
    const { rawNull, rawShm, verifiedNull, verifiedShm } = measured.result;
    const serverMiB = measured.peakMiB;
    const many = await peakRss(pid, twenty(port));

    const iperfRate = await iperf();
    const nginxRate = await nginx(dir, root);
    const sha256sum = await hashing(["sha256sum", join(root, "big.bin")]);
    const openssl = await hashing(["openssl", "dgst", "-sha256", join(root, "big.bin")]);
    const python = await pythonLab(dir, root);

    const ours = (got: Got) =>
      `${shown(rate(FILE_BYTES, got.seconds))} (${got.seconds.toFixed(2)} s), client RSS ${got.clientMiB.toFixed(0)} MiB`;
    const rawRate = rate(FILE_BYTES, rawNull.seconds);
    const verifiedRate = rate(FILE_BYTES, verifiedNull.seconds);
    const clients = [rawNull, rawShm, verifiedNull, verifiedShm].map((got) => got.clientMiB);
    const memoryMet = serverMiB < 100 && Math.max(...clients) < 100;
    const verdict = (ratio: number | undefined, goal: number) =>
      ratio === undefined
        ? "not measured"
        : `${ratio.toFixed(2)}x, ${ratio >= goal ? "met" : "NOT met"}`;
    const overIperf = iperfRate ? rawRate / iperfRate : undefined;
    const sumRate = sha256sum ? rate(FILE_BYTES, sha256sum) : undefined;
    const sslRate = openssl ? rate(FILE_BYTES, openssl) : undefined;
    const overPython = python ? rawRate / rate(FILE_BYTES, python) : undefined;
    return [
      row(
        `GET ${SIZE}, loopback, raw, to /dev/null (best of 3)`,
        ours(rawNull),
        iperfRate
          ? `iperf3 -n 1G: ${shown(iperfRate)}`
          : "iperf3 not installed (Debian package iperf3)",
        `>= 0.6x iperf3: ${verdict(overIperf, 0.6)}`,
      ),
      row(
        `GET ${SIZE}, raw, to a file on /dev/shm`,
        ours(rawShm),
        nginxRate
          ? `curl from nginx (sendfile): ${shown(nginxRate)}`
          : "nginx or curl not installed (Debian packages nginx-light, curl)",
        "report only",
      ),
      row(
        `GET ${SIZE}, SHA-256 verified, to /dev/null`,
        `${ours(verifiedNull)}; ${gib(verifiedRate)}`,
        `sha256sum: ${sumRate ? gib(sumRate) : "-"}; openssl (SHA-NI, one core): ${sslRate ? gib(sslRate) : "-"}`,
        `>= 0.8x sha256sum: ${verdict(sumRate ? verifiedRate / sumRate : undefined, 0.8)}; vs openssl ${sslRate ? (verifiedRate / sslRate).toFixed(2) : "-"}x`,
      ),
      row(
        `GET ${SIZE}, SHA-256 verified, to a file on /dev/shm`,
        ours(verifiedShm),
        "the row above",
        "report only",
      ),
      row(
        "the lab's design (Python, 4 KB reads, recv(4096)), to /dev/null",
        python
          ? `${shown(rate(FILE_BYTES, python))} (${python.toFixed(2)} s)`
          : "python3 not installed",
        `ours raw: ${shown(rawRate)}`,
        `>= 3x the lab's design: ${verdict(overPython, 3)}`,
      ),
      row(
        `memory during the ${SIZE} GETs`,
        `server peak RSS ${serverMiB.toFixed(0)} MiB; clients ${clients.map((m) => m.toFixed(0)).join(", ")} MiB`,
        "(GNU time for clients, /proc for the server)",
        `< 100 MB each: ${memoryMet ? "met" : "NOT met"}`,
      ),
      row(
        `20 clients GET ${SIZE} at once (processes), raw, /dev/null`,
        `${shown(rate(20 * FILE_BYTES, many.result.seconds))} in total (${many.result.seconds.toFixed(1)} s wall, 20 bun start-ups included; slowest client ${many.result.slowest.toFixed(1)} s)`,
        `server peak RSS ${many.peakMiB.toFixed(0)} MiB`,
        "report only",
      ),
      row(
        `first GET of a file version: hash ${SIZE} before SENDING_FILE`,
        `${firstMs.toFixed(0)} ms; the next GET of that version: ${againMs.toFixed(1)} ms`,
        "DigestCache: once per version",
        "report only",
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
