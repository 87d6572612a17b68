/**
 * @title HTTP get
 * @summary The client as a tool: every wait and every size bounded, the body saved as it arrives, --json for scripts.
 * @run bun run 03-http-client/07-http-get.ts [URL | /practice-path] [--output FILE] [--json] [--max-bytes N] [--connect-timeout S] [--idle-timeout S] [--tls] [--ca FILE] [--insecure] [--method GET|HEAD]
 * @python new
 *
 * A server can be slow, silent, endless or broken; a client you rely on bounds each case
 * and turns it into one sentence: a connect timeout, an idle timeout, a size cap. The body
 * goes to a file as it arrives (`--output`), so a large one never sits in memory, and
 * `--json` gives scripts the status, headers, body size and SHA-256, and the timing.
 */
import { createHash } from "node:crypto";
import { type HttpOptions, httpRequest, printResponse } from "./06-http-client.ts";
import { requestTarget } from "./08-practice-server.ts";
import * as cli from "./command-line.ts";

/** Fetches `url`; the body goes to `output` (a file) or is kept; its SHA-256 either way. */
export async function httpGet(url: URL, options: HttpOptions & { output?: string } = {}) {
  const sink = options.output === undefined ? undefined : openOutput(options.output);
  const hash = createHash("sha256");
  const onBody = (bytes: Buffer): void => {
    hash.update(bytes);
    if (sink) sink.write(bytes); // FileSink buffers, then writes as the disk takes it
  };
  try {
    const result = await httpRequest(url, { ...options, onBody: sink ? onBody : undefined });
    if (result.body) onBody(result.body);
    return { ...result, bodySha256: hash.digest("hex"), bodyFile: options.output ?? null };
  } finally {
    await sink?.end();
  }
}

/** A file to write the body into, opened before we connect: a bad path costs no download. */
function openOutput(file: string) {
  try {
    return Bun.file(file).writer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot write to ${file} (${code}): check --output names a file in a folder that exists`,
    );
  }
}

/** --method: GET or HEAD, the two methods with no request body. */
export function parseMethod(text = "GET"): "GET" | "HEAD" {
  const method = text.toUpperCase();
  if (method === "GET" || method === "HEAD") return method;
  throw new Error(`--method must be GET or HEAD, not "${text}"`);
}

const usage = `usage: bun run 03-http-client/07-http-get.ts [URL | /path] [options]

Fetches one URL with HTTP/1.1. With no URL, or just a /path, it asks the chapter's
practice server (started here).
  --output FILE         save the body to FILE, byte for byte, as it arrives
  --json                one JSON document: status, headers, body size, SHA-256 and
                        (without --output) the body in base64, and the timing
  --max-bytes N         refuse a body over N bytes (default 67108864)
  --connect-timeout S   give up connecting after S seconds (default 5)
  --idle-timeout S      give up after S seconds without data (default 10)
  --tls                 use https (with no URL: the practice server over TLS)
  --ca FILE             trust the authorities in this PEM file instead of the usual ones
  --insecure            go on when the certificate does not verify (test servers only)
  --method M            GET (default) or HEAD`;

const flags = {
  output: { type: "string" },
  json: { type: "boolean" },
  "max-bytes": { type: "string" },
  "connect-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  tls: { type: "boolean" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  method: { type: "string" },
} as const;

if (import.meta.main) {
  const { target, options } = cli.parseCommandLine(
    usage,
    flags,
    (values, [where = "/"]) => {
      const options = {
        output: values.output,
        json: values.json,
        maxBytes: cli.parseMaxBytes(values["max-bytes"]),
        timeoutMs: cli.parseSeconds("connect-timeout", values["connect-timeout"], 5),
        idleTimeoutMs: cli.parseSeconds("idle-timeout", values["idle-timeout"], 10),
        insecure: values.insecure,
        method: parseMethod(values.method),
      };
      return { options, target: requestTarget(where, values) };
    },
    1,
  );
  await cli.runClient(async () => {
    const result = await httpGet(target.url, { ...options, ca: target.ca });
    if (!options.json) printResponse(result, options.output);
    else console.log(JSON.stringify({ ...result, body: result.body?.toString("base64") }, null, 2));
  }, target.stop);
}
