// https.ts: what an http(s) URL means, how it is opened (TCP, or TLS checked by us), the
// PEM file behind --ca, and a request line's --path. What will not do is one sentence.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPath, openUrl, parseUrl, readPem } from "../../03-http-client/https.ts";
import { UsageError } from "../../lib/cli.ts";
import { closedPort, tracker } from "../helpers.ts";
import { CA, PRACTICE_CERT } from "./raw-server.ts";

const track = tracker();

describe("https.ts: URLs, how they are opened, and --ca", () => {
  test("a URL: a scheme is optional, only http and https, --tls makes it https", () => {
    expect(parseUrl("example.com/a b").toString()).toBe("http://example.com/a%20b");
    expect(parseUrl("http://example.com/", true).toString()).toBe("https://example.com/");
    expect(parseUrl("https://[::1]:8443/x?y=1").toString()).toBe("https://[::1]:8443/x?y=1");
    expect(parseUrl("ftp://example.com/")).toBe("only http(s):// URLs, not ftp://");
    expect(parseUrl("http://[::1")).toBe(
      '"http://[::1" is not a URL: write it like http://example.com/path',
    );
  });

  test("openUrl: plain TCP for http, and a refusal in lib's words", async () => {
    const server = track(
      Bun.listen({
        hostname: "127.0.0.1",
        port: 0,
        socket: { open: (socket) => void socket.end("hi"), data() {} },
      }),
    );
    const received = Promise.withResolvers<string>();
    const url = new URL(`http://127.0.0.1:${server.port}/`);
    const { socket, session } = await openUrl(
      url,
      {},
      {
        data: (_socket, chunk) => received.resolve(chunk.toString()),
      },
    );
    expect({ session, hello: await received.promise }).toEqual({ session: null, hello: "hi" });
    socket.end();
    const port = closedPort();
    await expect(openUrl(new URL(`https://127.0.0.1:${port}/`), {}, { data() {} })).rejects.toThrow(
      `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    );
  });

  test("a PEM file for --ca: a missing file and a file that is not PEM are one sentence each", () => {
    expect(readPem(PRACTICE_CERT)).toBe(CA);
    expect(() => readPem("/no/such/ca.pem")).toThrow(
      new UsageError("cannot read /no/such/ca.pem (ENOENT): give a PEM file"),
    );
    const folder = mkdtempSync(join(tmpdir(), "not-pem-"));
    try {
      const notPem = join(folder, "ca.txt");
      writeFileSync(notPem, "a certificate, honest\n");
      expect(() => readPem(notPem)).toThrow(
        `${notPem} is not a PEM file (no "-----BEGIN" line): give a PEM certificate`,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("a --path for a request line: starts with /, no spaces or control characters", () => {
    expect(checkPath("/a/b?c=d")).toBe("/a/b?c=d");
    for (const path of ["a", "/a b", "/a\r\nX: y", ""])
      expect(() => checkPath(path)).toThrow(
        new UsageError(
          `--path must start with / and hold no spaces or control characters (got "${path}")`,
        ),
      );
  });
});
