/**
 * @title Correct responses
 * @summary What a real HTTP server sends: a page, a chunked stream, a redirect, a large body, 204 and 304.
 * @run bun run 03-http-client/09-correct-responses.ts [--host 127.0.0.1] [--port 8080]
 * @python new
 * @serves tcp "GET / HTTP/1.1\r\nHost: practice\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 100 MiB
 *
 * `Bun.serve` is a real HTTP/1.1 server, so the client lessons practise on an
 * implementation that is not ours. It frames each body itself: Content-Length when it
 * knows the size, chunked for a stream whose end it cannot know, nothing at all for a
 * 204, a 304 or a HEAD. Try `curl -v http://127.0.0.1:8080/chunked` beside our client.
 */
import * as cli from "./command-line.ts";

/** The paths served here, for lists and for tests. */
export const PAGES = "/ /chunked /redirect /large /no-content /not-modified".split(" ");

/** The body of /large: numbered 64-byte lines, so a lost or repeated piece shows in a diff. */
export function largeBody(bytes: number): Buffer {
  const body = Buffer.alloc(bytes);
  for (let line = 0; line * 64 < bytes; line++)
    body.write(`line ${String(line).padStart(10, "0")} ${".".repeat(47)}\n`, line * 64, "latin1");
  return body;
}

async function* fiveParts(): AsyncGenerator<string> {
  for (let part = 1; part <= 5; part++) {
    yield `part ${part} of 5, sent on its own\n`;
    await Bun.sleep(20); // a pause, so each part leaves as its own chunk
  }
}

const text = { "content-type": "text/plain; charset=utf-8" };

/** Starts the server; `index` is the text of `/`, a list of what there is to practise on. */
export function serveCorrectResponses(
  {
    host = "127.0.0.1",
    port = 0,
    tls,
  }: { host?: string; port?: number; tls?: { cert: string; key: string } },
  index: () => string = () => `${PAGES.join("\n")}\n`,
) {
  return Bun.serve({
    hostname: host,
    port,
    tls,
    routes: {
      "/": () => new Response(index(), { headers: text }),
      // A stream of unknown length: Bun sends it with Transfer-Encoding: chunked.
      "/chunked": () => new Response(fiveParts(), { headers: text }),
      "/redirect": () => Response.redirect("/", 301),
      "/large": (request) => {
        const bytes = Number(new URL(request.url).searchParams.get("bytes") ?? 5 * 1024 * 1024);
        if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 2 ** 28)
          return new Response("?bytes= takes 0 to 268435456\n", { status: 400, headers: text });
        return new Response(largeBody(bytes), { headers: text });
      },
      "/no-content": () => new Response(null, { status: 204 }),
      "/not-modified": () => new Response(null, { status: 304, headers: { etag: '"practice"' } }),
    },
    fetch: () => new Response("no such page: / lists them\n", { status: 404, headers: text }),
  });
}

const usage = `usage: bun run 03-http-client/09-correct-responses.ts [--host H] [--port N]

Serves correct HTTP responses until Ctrl-C (08-practice-server.ts starts this too):
  ${PAGES.join("  ")}  /large?bytes=N
  --host H   address to listen on (default 127.0.0.1; ::1 for IPv6)
  --port N   port (default 8080; 0 = any free port)`;

if (import.meta.main) {
  const flags = { host: { type: "string" }, port: { type: "string" } } as const;
  const { host, port } = cli.parseCommandLine(usage, flags, (values) => ({
    host: values.host ?? "127.0.0.1",
    port: cli.parsePort(values.port ?? "8080", "port", 0),
  }));
  cli.serveUntilStopped(host, port, () => {
    const server = serveCorrectResponses({ host, port });
    return { port: server.port ?? port, stop: () => server.stop(true) };
  });
}
