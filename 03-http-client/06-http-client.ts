/**
 * @title HTTP client
 * @summary A small, correct HTTP/1.1 client: status, headers, and a body framed by length, chunks or close.
 * @run bun run 03-http-client/06-http-client.ts [URL | /practice-path] [--tls] [--ca FILE] [--insecure]
 * @python new
 *
 * Lesson 04 printed bytes; this client understands them (with http-response.ts): where the
 * headers end and where the body ends (Content-Length, chunked, or the close), so it knows
 * when it has everything. HEAD, 204 and 304 have no body; a 1xx is skipped; a redirect is
 * shown, not followed. With no URL it asks the practice server; give it a path to try
 * others: /chunked, /redirect, /trailers, /early-hints, /broken/chunk-size ...
 */
import { connectToHost } from "./02-connect.ts";
import { buildRequest, sendAll } from "./03-send-request.ts";
import { receive } from "./04-read-raw.ts";
import { connectTls, describeTls, type TlsOptions } from "./05-tls.ts";
import { requestTarget } from "./08-practice-server.ts";
import * as cli from "./command-line.ts";
import { headerValues, ResponseParser } from "./http-response.ts";

export interface HttpOptions extends TlsOptions {
  method?: "GET" | "HEAD";
  idleTimeoutMs?: number;
  maxBytes?: number;
  /** Where body bytes go as they arrive; by default they are kept and returned as `body`. */
  onBody?: (bytes: Buffer) => void;
}

export async function httpRequest(url: URL, options: HttpOptions = {}) {
  const { method = "GET", idleTimeoutMs = 10_000, maxBytes = 64 * 1024 * 1024 } = options;
  const started = performance.now();
  const https = url.protocol === "https:";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (https ? 443 : 80));
  const connection = await (https ? connectTls : connectToHost)(host, port, options);
  try {
    const chunks: Buffer[] = [];
    const keep = (bytes: Buffer): void => void chunks.push(bytes);
    const parser = new ResponseParser(method, options.onBody ?? keep, { maxBodyBytes: maxBytes });
    const path = `${url.pathname}${url.search}`;
    await sendAll(
      connection,
      buildRequest({ method, host, port, path, defaultPort: https ? 443 : 80 }),
    );
    let firstByteMs = 0;
    await receive(connection, {
      idleTimeoutMs,
      onData(chunk) {
        firstByteMs ||= performance.now() - started;
        parser.push(chunk); // throws a sentence if the response is malformed
        return parser.done; // complete by its framing: no need to wait for the close
      },
    });
    parser.end(); // the server closed: fine only if the framing says the body is complete
    const head = parser.head ?? { httpVersion: "", status: 0, reason: "", headers: [] };
    const location = headerValues(head.headers, "location")[0];
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    return {
      url: url.href,
      ...head,
      /** 1xx responses that came first (like 103 Early Hints), skipped. */
      informational: parser.informational.map(({ status, reason }) => ({ status, reason })),
      framing: parser.framing,
      trailers: parser.trailers,
      bodyBytes: parser.bodyBytes,
      body: options.onBody ? null : Buffer.concat(chunks),
      /** Where a 3xx points, as a full URL: shown, never followed. */
      redirect:
        head.status >= 300 && head.status < 400 && location ? new URL(location, url).href : null,
      tls: https ? describeTls(connection) : null,
      timing: {
        connectMs: round(connection.connectMs),
        firstByteMs: round(firstByteMs),
        totalMs: round(performance.now() - started),
      },
    };
  } finally {
    connection.close();
  }
}
export type HttpResult = Awaited<ReturnType<typeof httpRequest>>;

export function printResponse(result: HttpResult, output?: string): void {
  for (const { status, reason } of result.informational)
    console.log(`(skipped: ${status} ${reason})`);
  console.log(`HTTP/${result.httpVersion} ${result.status} ${result.reason}`);
  for (const [name, value] of result.headers) console.log(`${name}: ${value}`);
  console.log();
  const text = result.body && result.body.length <= 65_536 && !result.body.includes(0);
  if (output) console.log(`(body saved to ${output})`);
  else if (text) process.stdout.write(`${result.body}${result.body?.at(-1) === 0x0a ? "" : "\n"}`);
  else
    console.log(
      `(${result.bodyBytes} bytes of body not shown: 07-http-get.ts --output FILE saves them)`,
    );
  for (const [name, value] of result.trailers) console.log(`trailer ${name}: ${value}`);
  const { connectMs, firstByteMs, totalMs } = result.timing;
  console.log(
    `--- ${result.status} ${result.reason}: ${result.bodyBytes} bytes of body, framed by ${result.framing}; connected in ${connectMs} ms, first byte at ${firstByteMs} ms, done at ${totalMs} ms`,
  );
  if (result.redirect)
    console.log(`redirect to ${result.redirect} (not followed: run again with that URL)`);
}

const usage = `usage: bun run 03-http-client/06-http-client.ts [URL | /path] [--tls] [--ca FILE] [--insecure]

Fetches one URL with HTTP/1.1 and shows the status, the headers and the body.
With no URL, or just a /path, it asks the chapter's practice server (started here).
  --tls         use https (with no URL: the practice server over TLS)
  --ca FILE     trust the authorities in this PEM file instead of the usual ones
  --insecure    go on when the certificate does not verify (test servers only)`;

if (import.meta.main) {
  const flags = {
    tls: { type: "boolean" },
    ca: { type: "string" },
    insecure: { type: "boolean" },
  } as const;
  const { target, insecure } = cli.parseCommandLine(
    usage,
    flags,
    (values, [where = "/"]) => ({
      insecure: values.insecure,
      target: requestTarget(where, values),
    }),
    1,
  );
  await cli.runClient(async () => {
    printResponse(await httpRequest(target.url, { ca: target.ca, insecure }));
  }, target.stop);
}
