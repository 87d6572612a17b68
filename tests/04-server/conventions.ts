/**
 * What every server lesson of chapter 04 promises on its command line, as tests: --help, a
 * port in use (one sentence, exit 1), bad flags (one sentence and the usage, exit 2), and
 * ::1 with a clean stop on Ctrl-C that frees the port. Each lesson's test file calls
 * `serverConventions()` once, so `bun test 04-server/03` grades these for lesson 03 too.
 */
import { describe, expect, test } from "bun:test";
import { inUse, runLesson, startLesson } from "../helpers.ts";

/** The sentence lib/cli.ts prints for a --host that is not an IP address. */
export const notAnAddress = (text: string): string =>
  `--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "${text}")`;

/** Resolves with the connect error code for a port nobody should be listening on. */
export async function connectError(port: number, hostname = "127.0.0.1"): Promise<string> {
  try {
    // With a connectError handler a refused connect is not also an unhandled rejection.
    const socket = await Bun.connect({ hostname, port, socket: { data() {}, connectError() {} } });
    socket.terminate();
    return "connected";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? "unknown";
  }
}

/** A TCP (or UDP) port held by this test process for the length of `body`. */
export async function holdingPort<T>(
  body: (port: number) => Promise<T>,
  protocol: "tcp" | "udp" = "tcp",
): Promise<T> {
  const holder =
    protocol === "tcp"
      ? Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
      : await Bun.udpSocket({ hostname: "127.0.0.1" });
  try {
    return await body(holder.port);
  } finally {
    if ("stop" in holder) holder.stop(true);
    else holder.close();
  }
}

/** The command-line rubric of a server lesson; `protocol` is the socket its ::1 test checks. */
export function serverConventions(file: string, protocol: "tcp" | "udp" = "tcp"): void {
  const taken = protocol === "udp" ? "a UDP port" : "a port";
  describe(`${file} on the command line`, () => {
    test("--help prints the usage, which is the header's @run, and exits 0", async () => {
      const result = await runLesson(file, ["--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toStartWith(`usage: bun run ${file}`);
      expect(result.stdout).toContain("--port PORT");
      const run = (await Bun.file(`${import.meta.dir}/../../${file}`).text()).match(/@run (.+)/);
      expect(result.stdout.split("\n")[0]).toBe(`usage: ${run?.[1]}`);
    });

    test(`on ${taken} in use: one sentence naming the port, exit 1`, async () => {
      await holdingPort(async (port) => {
        const result = await runLesson(file, ["--port", String(port)]);
        expect(result.code).toBe(1);
        expect(result.stderr).toBe(`${inUse(port)}\n`);
        expect(result.stdout).not.toContain("listening on");
      }, protocol);
    });

    test("bad flags: one sentence and the usage, exit 2", async () => {
      const badPort = await runLesson(file, ["--port", "70000"]);
      expect(badPort.code).toBe(2);
      expect(badPort.stderr).toStartWith(
        `--port must be a whole number from 0 to 65535 (got "70000")\n\nusage: bun run ${file}`,
      );
      const name = await runLesson(file, ["--host", "localhost"]);
      expect(name.code).toBe(2);
      expect(name.stderr).toStartWith(`${notAnAddress("localhost")}\n`);
      const unknown = await runLesson(file, ["--verbose"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toStartWith("unknown flag --verbose");
    });

    test("listens on ::1, and Ctrl-C (SIGINT) stops it with exit 0 and frees the port", async () => {
      await using lesson = startLesson(file, ["--host", "::1", "--port", "0"]);
      const { host, port } = await lesson.listening(protocol);
      expect(host).toBe("::1");
      await lesson.waitFor(/Ctrl-C stops the server\n/);
      const result = await lesson.stop("SIGINT");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("stopped by SIGINT");
      expect(result.stderr).toBe("");
      if (protocol === "tcp") expect(await connectError(port, "::1")).toBe("ECONNREFUSED");
    });
  });
}
