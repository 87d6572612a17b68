/**
 * @title Practice server
 * @summary Lessons 07, 08 and 09 in one process: every practice path of the chapter, on three ports.
 * @run bun run 03-http-client/10-practice-server.ts [--host 127.0.0.1] [--port 8080] [--idle 60] [--tls]
 * @python new
 * @serves tcp "GET / HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @serves tcp "GET /close HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @serves tcp "GET /large?bytes=64 HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 150 MiB · drip 15 s
 *
 * One process may listen on several ports. Bun.serve's correct responses take --port, the
 * hand-written ones the next port, the large body the one after, and `/` lists every
 * practice URL. The clients start this when they are given no host: lessons 02 to 06 as a
 * process of its own, the later ones in theirs. With --tls all three speak https with the
 * practice certificate, localhost-cert.pem, whose key is public: for practice, nothing else.
 */
import { join } from "node:path";
import { command, endpoint, flag, type Server, serve } from "../lib/cli.ts";
import { PAGES, serveCorrectResponses } from "./07-correct-responses.ts";
import { startRawServer } from "./08-raw-responses.ts";
import { startLargeBodyServer } from "./09-large-body.ts";
import { RAW_PATHS } from "./practice-responses.ts";

export async function startPracticeServer(options: PracticeOptions = {}) {
  const { host = "127.0.0.1", port = 0, idle = 60, tls = false } = options;
  const keys = tls ? { cert: await read(PRACTICE_CERT), key: await read(PRACTICE_KEY) } : undefined;
  // With port 0 each listener takes any free port; otherwise the ports after --port.
  const next = (offset: number): number => (port === 0 ? 0 : port + offset);
  const index = (): string => `${[...PAGES, ...RAW_PATHS, "/large?bytes=N"].map(url).join("\n")}\n`;
  const servers: Listening[] = [serveCorrectResponses({ host, port, idle, tls: keys, index })];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    servers.push(startRawServer({ host, port: next(1), idle, tls: keys }));
    servers.push(startLargeBodyServer({ host, port: next(2), idle, tls: keys }));
  } catch (error) {
    await stop();
    throw error;
  }
  const ports = servers.map((server) => server.tcp.port);
  /** A practice path's full URL, on the listener that serves it. */
  function url(path: string): string {
    const pathname = path.split("?")[0] ?? "";
    const which = RAW_PATHS.includes(pathname) ? 1 : pathname === "/large" ? 2 : 0;
    return `${tls ? "https" : "http"}://${endpoint(host, ports[which])}${path}`;
  }
  return { host, ports, url, ca: keys?.cert, stop };
}

type PracticeOptions = { host?: string; port?: number; idle?: number; tls?: boolean };
/** What each of lessons 07, 08 and 09 returns: one listener, and how to stop it. */
type Listening = Server & { tcp: { port: number } };

/** The chapter's self-signed certificate for localhost, 127.0.0.1 and ::1, and its key. */
export const PRACTICE_CERT = join(import.meta.dir, "localhost-cert.pem");
const PRACTICE_KEY = join(import.meta.dir, "localhost-key.pem");
const read = (file: string): Promise<string> => Bun.file(file).text();

if (import.meta.main) {
  const cli = command("03-http-client/10-practice-server.ts", "Serves every practice path.", {
    host: flag.listen("127.0.0.1"),
    port: flag.whole(8080, "first of three ports (0 for any free ones)", {
      max: 65_533,
      placeholder: "PORT",
    }),
    idle: flag.whole(60, "cut off a client idle this many seconds", { min: 1, max: 255 }),
    tls: flag.bool(`speak https, with the practice certificate ${PRACTICE_CERT}`),
  });
  const { host, port, idle, tls } = cli.parse();
  const start = async () => {
    const practice = await startPracticeServer({ host, port, idle, tls });
    // Three listeners, three `listening on` lines, in the order of the @serves lines above.
    return { tcp: practice.ports.map((each) => ({ port: each })), stop: practice.stop };
  };
  await serve(host, port, start, "GET / on the first port lists every practice URL");
}
