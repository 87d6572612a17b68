// 11-tls (with https.ts): the handshake, and our own check of the certificate. Verified with
// the practice certificate; refused without it, with the reason; --insecure goes on and says
// so; a certificate for other names, a port that does not speak TLS, a handshake that never
// comes, a --ca that is no certificate: each one sentence.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectTls } from "../../03-http-client/11-tls.ts";
import { startPracticeServer } from "../../03-http-client/10-practice-server.ts";
import { certificateProblem, connectTls } from "../../03-http-client/https.ts";
import { runLesson, tracker } from "../helpers.ts";
import { CA, PRACTICE_CERT } from "./raw-server.ts";

const FILE = "03-http-client/11-tls.ts";
const track = tracker();
const SELF_SIGNED =
  "the certificate of 127.0.0.1 is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)";

describe("11-tls: the handshake, and our own check of the certificate", () => {
  let practice: Awaited<ReturnType<typeof startPracticeServer>>;
  let port = 0;
  beforeAll(async () => {
    practice = await startPracticeServer({ tls: true });
    port = practice.ports[0] ?? 0;
  });
  afterAll(() => practice.stop());

  test("with the practice certificate trusted: verified, and the session described", async () => {
    const tls = await inspectTls("127.0.0.1", port, { ca: CA });
    expect(tls).toMatchObject({
      verified: true,
      problem: null,
      subject: "CN=localhost, O=sockets-lab practice (not a real authority)",
    });
    expect(tls.issuer).toBe(tls.subject);
    expect(tls.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(tls.cipher).toMatch(/^TLS_/);
    expect(tls.names).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(tls.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect((await inspectTls("localhost", port, { ca: CA })).verified).toBe(true);
  });

  test("without it: refused, with the reason; --insecure goes on but says so", async () => {
    await expect(inspectTls("127.0.0.1", port)).rejects.toThrow(SELF_SIGNED);
    const insecure = await inspectTls("127.0.0.1", port, { insecure: true });
    expect({ verified: insecure.verified, problem: insecure.problem }).toEqual({
      verified: false,
      problem: "self signed certificate",
    });
  });

  test("a certificate for other names is refused even when its authority is trusted", async () => {
    const elsewhere = track(await startPracticeServer({ host: "127.0.0.2", tls: true }));
    await expect(inspectTls("127.0.0.2", elsewhere.ports[0] ?? 0, { ca: CA })).rejects.toThrow(
      "the certificate is not for 127.0.0.2 but for other names (DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1): use one of those",
    );
  });

  test("a port that does not speak TLS, and the other certificate problems, in words", async () => {
    const plain = track(await startPracticeServer({}));
    const plainPort = plain.ports[0] ?? 0;
    await expect(inspectTls("127.0.0.1", plainPort, { ca: CA, insecure: true })).rejects.toThrow(
      `no TLS handshake with 127.0.0.1:${plainPort} (EPROTO): does that port speak TLS?`,
    );
    const coded = (code: string): Error => Object.assign(new Error(code), { code });
    expect(certificateProblem(coded("CERT_HAS_EXPIRED"), "old.example")).toBe(
      "the certificate of old.example has expired",
    );
    expect(certificateProblem(coded("UNABLE_TO_GET_ISSUER_CERT_LOCALLY"), "corp.example")).toBe(
      "the certificate of corp.example is not signed by an authority we trust (UNABLE_TO_GET_ISSUER_CERT_LOCALLY): see --ca FILE",
    );
  });

  test("TLS options Bun refuses at once (a --ca that is no certificate) are one sentence", async () => {
    const server = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const ca = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    await expect(
      connectTls("127.0.0.1", server.port, { data() {} }, { ca, timeoutMs: 300 }),
    ).rejects.toThrow(`cannot connect to 127.0.0.1:${server.port}: Invalid CA (check --ca)`);
  });

  test("a TLS handshake that never comes ends at the connect timeout", async () => {
    const silent = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const started = performance.now();
    const error = await connectTls(
      "127.0.0.1",
      silent.port,
      { data() {} },
      { timeoutMs: 300 },
    ).catch((caught) => caught);
    expect({ code: error.code, message: error.message }).toEqual({
      code: "ETIMEDOUT",
      message: "no answer within 0.3 s",
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  test("run as a student: the practice server checked against its own certificate; the errors", async () => {
    const plain = await runLesson(FILE);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      `(no --host: the practice server over TLS, trusting ${PRACTICE_CERT})`,
    );
    expect(plain.stdout).toContain("  issued by: itself (self-signed)");
    expect(plain.stdout).toContain("verified: yes: signed by an authority we trust, for 127.0.0.1");

    const json = await runLesson(FILE, ["--port", String(port), "--ca", PRACTICE_CERT, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ port, verified: true, practice: false });

    const untrusted = await runLesson(FILE, ["--port", String(port)]);
    expect({ code: untrusted.code, err: untrusted.stderr.trim() }).toEqual({
      code: 1,
      err: SELF_SIGNED,
    });
    const insecure = await runLesson(FILE, ["--port", String(port), "--insecure"]);
    expect(insecure.code).toBe(0);
    expect(insecure.stdout).toContain(
      "verified: NO (self signed certificate): going on only because of --insecure",
    );
    const folder = mkdtempSync(join(tmpdir(), "bad-ca-"));
    try {
      // Shaped like PEM, but Bun cannot read a certificate from it: one sentence, at once.
      const badCa = join(folder, "ca.pem");
      writeFileSync(badCa, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
      const refused = await runLesson(FILE, ["--port", String(port), "--ca", badCa]);
      expect({ code: refused.code, err: refused.stderr.trim() }).toEqual({
        code: 1,
        err: `cannot connect to 127.0.0.1:${port}: Invalid CA (check --ca)`,
      });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    const missing = await runLesson(FILE, ["--ca", "/no/such/ca.pem"]);
    expect({ code: missing.code, first: missing.stderr.split("\n")[0] }).toEqual({
      code: 2,
      first: "cannot read /no/such/ca.pem (ENOENT): give a PEM file",
    });
    const silent = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const late = await runLesson(FILE, ["--port", String(silent.port), "--timeout", "0.3"]);
    expect({ code: late.code, err: late.stderr.trim() }).toEqual({
      code: 1,
      err: `127.0.0.1:${silent.port} (tcp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
    });
  });
});
