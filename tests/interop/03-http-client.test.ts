// 03-http-client against a real HTTP server: nginx, started here in the foreground on a
// loopback port with its configuration, logs and temp files in a temp dir. For each URL the
// body our client saves must be byte-identical to what curl saves from the same URL: a
// static page, a 6 MB binary file, an SSI page nginx sends chunked, a redirect, a 204, a 404;
// then the same over TLS (`listen ssl`) with a self-signed certificate.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { httpRequest } from "../../03-http-client/12-http-client.ts";
import { PRACTICE_CERT } from "../../03-http-client/10-practice-server.ts";
import { freePort, hasCommand, runLesson } from "../helpers.ts";

const ready = hasCommand("nginx") && hasCommand("curl");
const SSI_PAGE = '<p><!--# set var="who" value="nginx" -->made by <!--# echo var="who" --></p>\n';

let dir = "";
let nginx: Subprocess | undefined;
let plainPort = 0;
let tlsPort = 0;
let cert = "";
const large = randomBytes(6 * 1024 * 1024);

/** Resolves when `file` exists in `folder` (watched, not polled), or rejects when `gaveUp` does. */
function whenFileAppears(folder: string, file: string, gaveUp: Promise<string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(folder, () => {
      if (existsSync(join(folder, file))) done();
    });
    const timer = setTimeout(() => finish(new Error(`nginx wrote no ${file} within 10 s`)), 10_000);
    const finish = (error?: Error): void => {
      watcher.close();
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const done = (): void => finish();
    void gaveUp.then((why) => finish(new Error(why)));
    if (existsSync(join(folder, file))) done();
  });
}

/** Connects until one succeeds, at most `attempts` times, each retry after a refusal. */
async function acceptsConnections(port: number, attempts = 50): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const opened = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (socket) => (socket.end(), true),
      () => false,
    );
    if (opened) return;
    if (attempt >= attempts) throw new Error(`nginx does not accept connections on port ${port}`);
  }
}

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), "nginx-http-client-"));
  const html = join(dir, "html");
  mkdirSync(html);
  mkdirSync(join(dir, "temp"));
  writeFileSync(
    join(html, "index.html"),
    "<!doctype html>\n<title>nginx</title>\n<p>a static page</p>\n",
  );
  writeFileSync(join(html, "large.bin"), large);
  writeFileSync(join(html, "ssi.html"), SSI_PAGE);
  // A certificate of our own when openssl is here; else the chapter's practice one.
  let keyFile = join(dirname(PRACTICE_CERT), "localhost-key.pem");
  let certFile = PRACTICE_CERT;
  if (hasCommand("openssl")) {
    keyFile = join(dir, "key.pem");
    certFile = join(dir, "cert.pem");
    const openssl = Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "2",
        "-subj",
        "/CN=interop test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    if (openssl.exitCode !== 0) throw new Error(`openssl failed: ${openssl.stderr.toString()}`);
  }
  cert = certFile;
  plainPort = await freePort();
  tlsPort = await freePort();
  const temp = join(dir, "temp");
  writeFileSync(
    join(dir, "nginx.conf"),
    `master_process off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")};
events { worker_connections 64; }
http {
  access_log ${join(dir, "access.log")};
  client_body_temp_path ${temp}; proxy_temp_path ${temp}; fastcgi_temp_path ${temp};
  uwsgi_temp_path ${temp}; scgi_temp_path ${temp};
  default_type application/octet-stream;
  gzip off;
  server {
    listen 127.0.0.1:${plainPort};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    root ${html};
    location = /ssi.html { ssi on; }
    location = /redirect { return 301 /index.html; }
    location = /empty { return 204; }
  }
}
`,
  );
  const child = Bun.spawn(
    [
      "nginx",
      "-p",
      dir,
      "-e",
      join(dir, "error.log"),
      "-c",
      join(dir, "nginx.conf"),
      "-g",
      "daemon off;",
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  nginx = child;
  const log = join(dir, "error.log");
  const gaveUp = child.exited.then(async (code) => {
    const stderr = await new Response(child.stderr).text();
    return `nginx exited (code ${code}): ${stderr} ${existsSync(log) ? readFileSync(log, "utf8") : ""}`;
  });
  await whenFileAppears(dir, "nginx.pid", gaveUp);
  await acceptsConnections(plainPort);
  await acceptsConnections(tlsPort);
});

afterAll(async () => {
  if (nginx) {
    nginx.kill("SIGTERM");
    await nginx.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** curl's copy of the body and its status code (never following redirects). */
async function curl(
  url: string,
  file: string,
  extra: string[] = [],
): Promise<{ status: number; body: Buffer }> {
  const child = Bun.spawn(["curl", "-s", "--output", file, "-w", "%{http_code}", ...extra, url], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const status = Number(await new Response(child.stdout).text());
  expect(await child.exited).toBe(0);
  return { status, body: existsSync(file) ? readFileSync(file) : Buffer.alloc(0) };
}

/** Our copy, through the lesson as a student runs it: --output FILE --json. */
async function ours(url: string, file: string, extra: string[] = []) {
  const run = await runLesson("03-http-client/13-http-get.ts", [
    url,
    "--output",
    file,
    "--json",
    ...extra,
  ]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return { report: JSON.parse(run.stdout), body: readFileSync(file) };
}

describe.skipIf(!ready)(
  "03-http-client against nginx (needs Debian packages nginx-light and curl)",
  () => {
    const cases: [string, number, string][] = [
      ["/index.html", 200, "content-length"],
      ["/large.bin", 200, "content-length"],
      ["/ssi.html", 200, "chunked"],
      ["/redirect", 301, "content-length"],
      ["/empty", 204, "none"],
      ["/no-such-file", 404, "content-length"],
    ];
    test.each(cases)(
      "GET %s: the same bytes as curl (status %d, framed by %s)",
      async (path, status, framing) => {
        const url = `http://127.0.0.1:${plainPort}${path}`;
        const name = path.replaceAll("/", "_");
        const theirs = await curl(url, join(dir, `curl${name}`));
        const mine = await ours(url, join(dir, `ours${name}`));
        expect({ status: mine.report.status, framing: mine.report.framing }).toEqual({
          status,
          framing,
        });
        expect(theirs.status).toBe(status);
        expect(mine.body.length).toBe(theirs.body.length);
        expect(mine.body.equals(theirs.body)).toBe(true);
        expect(mine.report.bodyBytes).toBe(mine.body.length);
      },
    );

    test("the details: the SSI page is chunked yet whole, the redirect is shown, the large file is intact", async () => {
      const ssi = await httpRequest(new URL(`http://127.0.0.1:${plainPort}/ssi.html`));
      expect({ framing: ssi.framing, body: ssi.body?.toString() }).toEqual({
        framing: "chunked",
        body: "<p>made by nginx</p>\n",
      });
      const redirect = await httpRequest(new URL(`http://127.0.0.1:${plainPort}/redirect`));
      expect(redirect.redirect).toBe(`http://127.0.0.1:${plainPort}/index.html`);
      const file = await httpRequest(new URL(`http://127.0.0.1:${plainPort}/large.bin`));
      expect(file.body?.equals(large)).toBe(true);
      const head = await httpRequest(new URL(`http://127.0.0.1:${plainPort}/large.bin`), {
        method: "HEAD",
      });
      expect({ bytes: head.bodyBytes, framing: head.framing }).toEqual({
        bytes: 0,
        framing: "none",
      });
      expect(head.headers).toContainEqual(["Content-Length", String(large.length)]);
    });

    test("https (nginx listen ssl): verified with --ca, the same bytes as curl --cacert", async () => {
      for (const path of ["/large.bin", "/ssi.html"]) {
        const url = `https://127.0.0.1:${tlsPort}${path}`;
        const name = path.replaceAll("/", "_");
        const theirs = await curl(url, join(dir, `curl-tls${name}`), ["--cacert", cert]);
        const mine = await ours(url, join(dir, `ours-tls${name}`), ["--ca", cert]);
        expect(mine.report.tls).toMatchObject({ verified: true, problem: null });
        expect(mine.body.equals(theirs.body)).toBe(true);
      }
      const untrusted = await runLesson("03-http-client/13-http-get.ts", [
        `https://127.0.0.1:${tlsPort}/index.html`,
      ]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr.trim()).toBe(
        "the certificate of 127.0.0.1 is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)",
      );
      const plainToTls = await runLesson("03-http-client/13-http-get.ts", [
        `http://127.0.0.1:${tlsPort}/`,
      ]);
      expect(plainToTls.code).toBe(0); // nginx answers plain HTTP on an ssl port with a 400 page
      expect(plainToTls.stdout).toContain("HTTP/1.1 400 Bad Request");
    });
  },
);
