/**
 * @title Correct responses
 * @summary What a real HTTP server sends: a page, a chunked stream, a redirect, a 204 and a 304.
 * @run bun run 03-http-client/07-correct-responses.ts [--host 127.0.0.1] [--port 8080] [--idle 60]
 * @python new
 * @serves tcp "GET / HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB · drip 15 s
 *
 * `Bun.serve` is a real HTTP/1.1 server, so the clients of this chapter practise on an
 * implementation that is not ours. It frames each body itself: Content-Length when it knows
 * the size, chunked for a stream whose end it cannot know, nothing at all for a 204, a 304
 * or a HEAD; and it reads a request's body for us (`POST /upload`, lesson 04 sends one). Read
 * its answers with lesson 05: `05-read-raw.ts --port 8080 --path /chunked`.
 */
import { command, flag, serve } from "../lib/cli.ts";

/** Starts the server; `index` is the text of `/`, the list of what there is to practise on. */
export function serveCorrectResponses(options: Options) {
  const { host = "127.0.0.1", port = 0, idle = 60, tls, index } = options;
  const server = Bun.serve({
    hostname: host,
    port,
    tls,
    // Bun closes a connection silent this many seconds after a request (it looks every few
    // seconds), and one that never finishes its request head after about 10 s of its own.
    idleTimeout: idle,
    routes: {
      "/": () => new Response(index?.() ?? `${PAGES.join("\n")}\n`, { headers: TEXT }),
      // A stream of unknown length: Bun sends it with Transfer-Encoding: chunked.
      "/chunked": () => new Response(fiveParts(), { headers: TEXT }),
      "/redirect": () => Response.redirect("/", 301),
      "/no-content": () => new Response(null, { status: 204 }),
      "/not-modified": () => new Response(null, { status: 304, headers: { etag: '"practice"' } }),
      "/upload": {
        POST: async (request) => new Response(await countBody(request), { headers: TEXT }),
      },
    },
    fetch: () => new Response("no such page: / lists them\n", { status: 404, headers: TEXT }),
  });
  return { tcp: { port: server.port ?? port }, stop: () => server.stop(true) };
}

type Options = { host?: string; port?: number; idle?: number; tls?: Keys; index?: () => string };
type Keys = { cert: string; key: string };

export const PAGES = ["/", "/chunked", "/redirect", "/no-content", "/not-modified"];

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** Five lines, 20 ms apart, so each leaves as a chunk of its own. */
async function* fiveParts(): AsyncGenerator<string> {
  for (let part = 1; part <= 5; part++) {
    yield `part ${part} of 5, sent on its own\n`;
    await Bun.sleep(20);
  }
}

/** Counts a request's body as it arrives, keeping none of it: an upload costs no memory. */
async function countBody(request: Request): Promise<string> {
  let bytes = 0;
  for await (const chunk of request.body ?? []) bytes += chunk.length;
  return `got ${bytes} bytes\n`;
}

if (import.meta.main) {
  const cli = command(
    "03-http-client/07-correct-responses.ts",
    `Serves ${PAGES.join(" ")}, and POST /upload`,
    {
      host: flag.listen("127.0.0.1"),
      port: flag.port(8080, "port to listen on (0 for any free port)"),
      idle: flag.whole(60, "close a connection silent this many seconds", { min: 1, max: 255 }),
    },
  );
  const { host, port, idle } = cli.parse();
  const hint = "try  bun run 03-http-client/05-read-raw.ts --host HOST --port PORT --path /chunked";
  await serve(host, port, () => serveCorrectResponses({ host, port, idle }), hint);
}
