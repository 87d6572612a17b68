/**
 * @title Practice server
 * @summary A local HTTP server to practise on: a page, a chunked stream, a redirect, a large body, broken replies.
 * @run bun run 03-http-client/08-practice-server.ts [--host 127.0.0.1] [--port 8080] [--tls]
 * @python new
 * @serves tcp "GET / HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * Two listeners, so the client lessons work offline: `Bun.serve` with correct responses
 * (09-correct-responses.ts) and, on the next port, a raw TCP listener with hand-written
 * ones that Bun.serve never sends: a 1xx, trailers, broken replies (10-raw-responses.ts).
 * Every client lesson starts this in-process when given no host. --tls serves https with
 * the practice certificate, which clients trust with --ca 03-http-client/localhost-cert.pem.
 */
import type { Server } from "bun";
import { join } from "node:path";
import { invalidHostMessage, isValidHost } from "./01-resolve.ts";
import { PAGES, serveCorrectResponses } from "./09-correct-responses.ts";
import { RAW_PATHS, startRawServer } from "./10-raw-responses.ts";
import * as cli from "./command-line.ts";

/** The chapter's self-signed certificate for localhost, 127.0.0.1 and ::1: for practice only. */
export const PRACTICE_CERT = join(import.meta.dir, "localhost-cert.pem");
const PRACTICE_KEY = join(import.meta.dir, "localhost-key.pem");

/** Both listeners; `url(path)` gives a practice path's full URL, on whichever serves it. */
export function startPracticeServer({ host = "127.0.0.1", port = 0, rawPort = 0, tls = false }) {
  const keys = tls
    ? { cert: cli.readPem(PRACTICE_CERT), key: cli.readPem(PRACTICE_KEY) }
    : undefined;
  const raw = startRawServer({ host, port: rawPort, tls: keys });
  let http: Server<undefined>;
  try {
    // `/` lists every practice URL, so it asks `url` (below) once both ports are known.
    http = serveCorrectResponses({ host, port, tls: keys }, () =>
      [...PAGES, ...RAW_PATHS].map((path) => `${url(path)}\n`).join(""),
    );
  } catch (error) {
    raw.stop(true); // Bun.serve could not listen: do not leave the other listener behind
    throw error;
  }
  const httpPort = http.port ?? port;
  const url = (path = "/"): string => {
    const where = cli.formatEndpoint(host, RAW_PATHS.includes(path) ? raw.port : httpPort);
    return `${tls ? "https" : "http"}://${where}${path}`;
  };
  const stop = (): void => (http.stop(true), raw.stop(true));
  return { host, port: httpPort, rawPort: raw.port, url, stop };
}

type ClientFlags = { host?: string; port?: string; json?: boolean };
/** The flags of the host/port client lessons, which `clientTarget` reads. */
const TEXT = { type: "string" } as const;
export const CLIENT_FLAGS = { host: TEXT, port: TEXT, json: { type: "boolean" } } as const;

/** Where a client lesson connects: --host/--port; with neither, this server, started here. */
export function clientTarget(values: ClientFlags, defaultPort: number, tls = false) {
  if (values.host !== undefined || values.port !== undefined) {
    const host = values.host ?? "127.0.0.1";
    if (!isValidHost(host)) throw new Error(invalidHostMessage(host));
    const port = values.port === undefined ? defaultPort : cli.parsePort(values.port);
    return { host, port, practice: false, stop() {} };
  }
  const { host, port, stop } = startPracticeServer({ tls });
  const where = cli.formatEndpoint(host, port);
  if (!values.json)
    console.log(`(no --host: started the practice server on ${where}; try --host example.com)`);
  return { host, port, practice: true, stop };
}

/**
 * What a URL client fetches: a URL (`example.com/x` is http://example.com/x), or a /path on
 * this server, started here, whose certificate it then trusts (with --tls) unless --ca.
 */
export function requestTarget(
  where: string,
  flags: { tls?: boolean; ca?: string; json?: boolean },
) {
  const { tls = false, ca, json } = flags;
  if (where.startsWith("/")) {
    const practice = startPracticeServer({ tls });
    if (!json) console.log("(no URL: started the practice server; try https://example.com/)");
    return {
      url: new URL(practice.url(where)),
      ca: cli.readPem(ca ?? PRACTICE_CERT),
      stop: practice.stop,
    };
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(where) ? where : `http://${where}`);
  } catch {
    throw new Error(`"${where}" is not a URL: write it like http://example.com/path`);
  }
  if (!/^https?:$/.test(url.protocol))
    throw new Error(`only http(s):// URLs, not ${url.protocol}//`);
  if (!isValidHost(url.hostname)) throw new Error(invalidHostMessage(url.hostname));
  if (tls) url.protocol = "https:";
  return { url, ca: ca === undefined ? undefined : cli.readPem(ca), stop() {} };
}

const usage = `usage: bun run 03-http-client/08-practice-server.ts [--host H] [--port N] [--tls]

Serves practice HTTP responses until Ctrl-C.
  --host H   address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port N   port of the correct responses (default 8080; 0 = any free port);
             the hand-written ones are on the next port (any free port with 0)
  --tls      serve https with the practice certificate, ${PRACTICE_CERT}`;

if (import.meta.main) {
  const flags = {
    host: { type: "string" },
    port: { type: "string" },
    tls: { type: "boolean" },
  } as const;
  const options = cli.parseCommandLine(usage, flags, (values) => {
    // 65535 has no next port for the hand-written responses.
    const port = cli.parsePort(values.port ?? "8080", "port", 0, 65534);
    return { host: values.host ?? "127.0.0.1", port, rawPort: port && port + 1, tls: values.tls };
  });
  const { host, port, rawPort } = options;
  const ports = port && `${port} or ${rawPort}`;
  const practice = cli.serveUntilStopped(host, ports, () => startPracticeServer(options));
  console.log(
    `hand-written responses on ${cli.formatEndpoint(host, practice.rawPort)}: ${RAW_PATHS.join(" ")}`,
  );
  console.log(`the list: ${practice.url("/")}; Ctrl-C stops`);
}
