/**
 * @title HTTP get
 * @summary The client as a tool: every wait and every size bounded, the body saved as it arrives, --json for scripts.
 * @run bun run 03-http-client/13-http-get.ts [URL|/PATH] [--output FILE] [--json] [--max-bytes 67108864] [--connect-timeout 5] [--idle-timeout 10] [--tls] [--ca FILE] [--insecure] [--method GET|HEAD]
 * @python new
 *
 * A server can be slow, silent, endless or broken; a client you rely on bounds each case and
 * turns it into one sentence: a connect timeout, an idle timeout, a size cap. The body goes
 * to a file as it arrives (`--output`), so a large one never sits in memory, and `--json`
 * gives scripts the status, headers, body size and SHA-256, and the timing.
 */
import { createHash } from "node:crypto";
import { command, fail, flag, usageError } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";
import { startPracticeServer } from "./10-practice-server.ts";
import { ResponseParser } from "./http-response.ts";
import { openUrl, parseUrl, readPem, type RequestOptions } from "./https.ts";

/** Lesson 12's exchange, every wait and size bounded; the body goes to `sink` as it comes. */
export async function httpGet(
  url: URL,
  sink: (bytes: Buffer) => void,
  options: RequestOptions = {},
) {
  const { method = "GET", idleMs = 10_000, maxBytes: maxBodyBytes } = options;
  const started = performance.now();
  const parser = new ResponseParser(method, sink, { maxBodyBytes });
  let firstByte = 0;
  let timer: IdleTimer | undefined;
  let outbox: Outbox | undefined;
  const { socket, session } = await openUrl(url, options, {
    data(_socket, chunk) {
      firstByte ||= performance.now();
      timer?.touch();
      parser.feed(chunk);
    },
    drain: () => outbox?.flush(),
    close: () => parser.feed(),
  });
  const connected = performance.now();
  const silent = `${url.host} sent nothing for ${idleMs / 1000} s (--idle-timeout) and did not close`;
  timer = new IdleTimer(idleMs, () => parser.fail(new Error(silent)));
  outbox = new Outbox(socket);
  outbox.send(`${method} ${url.pathname}${url.search} HTTP/1.1\r\n`);
  outbox.send(`Host: ${url.host}\r\nConnection: close\r\n\r\n`);
  await parser.complete.finally(() => {
    timer.stop();
    socket.end();
  });
  const ms = (since: number): number => Math.round((since - started) * 10) / 10;
  const totalMs = ms(performance.now());
  const timing = { connectMs: ms(connected), firstByteMs: ms(firstByte), totalMs };
  const { head, informational, framing, trailers, bodyBytes } = parser;
  return { ...head, informational, framing, trailers, bodyBytes, tls: session, timing };
}

/** The file for --output, opened before we connect: a bad path costs no download. */
function openOutput(file: string) {
  try {
    return Bun.file(file).writer();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    fail(`cannot write to ${file} (${code}): check --output names a file in a folder that exists`);
  }
}

const methods = flag.choice(["GET", "HEAD"], "GET", "the request's method (either case)");
const upperCase = (text: string, name: string) => methods.parse(text.toUpperCase(), name);

if (import.meta.main) {
  const words = { shown: "[URL|/PATH]", help: "a URL, or a practice server /PATH", max: 1 };
  const about = "Fetches one URL with HTTP/1.1, every wait and size bounded.";
  const flags = {
    output: flag.text(undefined, "save the body to FILE as it arrives", "FILE"),
    json: flag.bool("one JSON document: status, headers, body size, SHA-256, timing"),
    "max-bytes": flag.whole(64 * 1024 * 1024, "refuse a body over this many bytes", { min: 1 }),
    "connect-timeout": flag.decimal(5, "seconds to wait for the connection", { min: 0.01 }),
    "idle-timeout": flag.decimal(10, "give up after this many quiet seconds", { min: 0.01 }),
    tls: flag.bool("use https (with a /PATH: the practice server over TLS)"),
    ca: flag.text(undefined, "trust the authorities in this PEM file", "FILE", readPem),
    insecure: flag.bool("go on when the certificate does not verify (test servers only)"),
    method: { ...methods, parse: upperCase },
  };
  const cli = command("03-http-client/13-http-get.ts", about, flags, words);
  const args = cli.parse();
  const [where = "/"] = args.words;
  const practice = where.startsWith("/") ? await startPracticeServer({ tls: args.tls }) : undefined;
  const url = practice ? new URL(practice.url(where)) : parseUrl(where, args.tls);
  if (typeof url === "string") usageError(url, cli.usage);
  const file = args.output === undefined ? undefined : openOutput(args.output);
  // Each piece of the body: into the SHA-256, then to the file (or memory), as it arrives.
  const hash = createHash("sha256");
  const kept: Buffer[] = [];
  const sink = (bytes: Buffer): void => {
    hash.update(bytes);
    if (file) file.write(bytes);
    else kept.push(bytes);
  };
  const { method, ca = practice?.ca, insecure } = args;
  const limits = { maxBytes: args["max-bytes"], idleMs: args["idle-timeout"] * 1000 };
  const timeoutMs = args["connect-timeout"] * 1000;
  const got = await httpGet(url, sink, { method, ca, insecure, timeoutMs, ...limits }).catch(
    (error) => fail(error.message),
  );
  await file?.end();
  await practice?.stop();
  const bodySha256 = hash.digest("hex");
  const body = file ? undefined : Buffer.concat(kept).toString("base64");
  const report = { url, ...got, bodySha256, bodyFile: args.output ?? null, body };
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const { status, reason, bodyBytes, framing, timing } = got;
    console.log(`HTTP/${got.httpVersion} ${status} ${reason}`);
    for (const [name, value] of got.headers ?? []) console.log(`${name}: ${value}`);
    console.log(`--- ${status} ${reason}: ${bodyBytes} bytes, framed by ${framing}`);
    const saved = file ? `saved to ${args.output}` : "see --output";
    console.log(`sha256 ${bodySha256}, ${saved}; done in ${timing.totalMs} ms`);
  }
}
