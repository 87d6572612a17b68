/**
 * @title HTTP client
 * @summary A small, correct HTTP/1.1 client: status, headers, and a body framed by length, chunks or close.
 * @run bun run 03-http-client/12-http-client.ts [URL|/PATH] [--tls] [--ca FILE] [--insecure]
 * @python new
 *
 * Lesson 05 printed bytes; this client understands them, with http-response.ts (read it
 * with this page): where the headers end, and where the body ends (Content-Length, chunks,
 * or the close), so it stops reading when the response is complete. HEAD, 204 and 304 have
 * no body; a 1xx is skipped; a redirect is shown, not followed. Given a /PATH instead of a
 * URL it asks the practice server: /chunked, /redirect, /trailers, /early-hints, /broken/...
 */
import { command, fail, flag, usageError } from "../lib/cli.ts";
import { IdleTimer, Outbox } from "../lib/stream.ts";
import { startPracticeServer } from "./10-practice-server.ts";
import { headerValues, ResponseParser } from "./http-response.ts";
import { openUrl, parseUrl, readPem, type RequestOptions } from "./https.ts";

/** One request, and its response read exactly as far as its framing says. */
export async function httpRequest(url: URL, options: RequestOptions = {}) {
  const { method = "GET", idleMs = 10_000, maxBytes: maxBodyBytes } = options;
  const body: Buffer[] = [];
  const parser = new ResponseParser(method, (bytes) => body.push(bytes), { maxBodyBytes });
  let timer: IdleTimer | undefined;
  let outbox: Outbox | undefined;
  const { socket, session } = await openUrl(url, options, {
    data(_socket, chunk) {
      timer?.touch();
      parser.feed(chunk);
    },
    drain: () => outbox?.flush(),
    // The close ends a body framed by it; for any other framing, it came too early.
    close: () => parser.feed(),
  });
  const silent = `${url.host} sent nothing for ${idleMs / 1000} s and did not close`;
  timer = new IdleTimer(idleMs, () => parser.fail(new Error(silent)));
  outbox = new Outbox(socket);
  outbox.send(`${method} ${url.pathname}${url.search} HTTP/1.1\r\n`);
  outbox.send(`Host: ${url.host}\r\nConnection: close\r\n\r\n`);
  // Over when the framing says the response is whole, not when the server closes.
  await parser.complete.finally(() => {
    timer.stop();
    socket.end();
  });
  const head = parser.head ?? { httpVersion: "", status: 0, reason: "", headers: [] };
  const location = Math.floor(head.status / 100) === 3 && headerValues(head.headers, "location")[0];
  const redirect = location ? new URL(location, url).href : null;
  const { informational, framing, trailers, bodyBytes } = parser;
  const all = Buffer.concat(body);
  return { ...head, informational, framing, trailers, bodyBytes, body: all, redirect, session };
}

if (import.meta.main) {
  const words = { shown: "[URL|/PATH]", help: "a URL, or a practice server /PATH", max: 1 };
  const about = "Fetches one URL with HTTP/1.1 and shows the status, the headers and the body.";
  const flags = {
    tls: flag.bool("use https (with a /PATH: the practice server over TLS)"),
    ca: flag.text(undefined, "trust the authorities in this PEM file", "FILE", readPem),
    insecure: flag.bool("go on when the certificate does not verify (test servers only)"),
  };
  const cli = command("03-http-client/12-http-client.ts", about, flags, words);
  const args = cli.parse();
  const [where = "/"] = args.words;
  const practice = where.startsWith("/") ? await startPracticeServer({ tls: args.tls }) : undefined;
  if (practice) console.log("(no URL: started the practice server; try https://example.com/)");
  const url = practice ? new URL(practice.url(where)) : parseUrl(where, args.tls);
  if (typeof url === "string") usageError(url, cli.usage);
  const options = { ca: args.ca ?? practice?.ca, insecure: args.insecure };
  const got = await httpRequest(url, options).catch((error) => fail(error.message));
  await practice?.stop();
  for (const { status, reason } of got.informational) console.log(`(skipped: ${status} ${reason})`);
  console.log(`HTTP/${got.httpVersion} ${got.status} ${got.reason}`);
  for (const [name, value] of got.headers) console.log(`${name}: ${value}`);
  // Text is shown; a large or binary body is only counted.
  const text = got.body.length <= 65_536 && !got.body.includes(0);
  const body = got.body.toString().replace(/\n$/, "");
  console.log(text ? `\n${body}` : `\n(${got.bodyBytes} bytes not shown)`);
  for (const [name, value] of got.trailers) console.log(`trailer ${name}: ${value}`);
  const { status, reason, bodyBytes, framing } = got;
  console.log(`--- ${status} ${reason}: ${bodyBytes} bytes of body, framed by ${framing}`);
  if (got.redirect) console.log(`redirect to ${got.redirect} (not followed: run again with it)`);
}
