/**
 * @title TLS
 * @summary Connect over TLS, as https does, check the server's certificate, and show who it says it is.
 * @run bun run 03-http-client/11-tls.ts [--host HOST] [--port PORT] [--ca FILE] [--insecure] [--timeout 5] [--json]
 * @python new
 *
 * TLS runs over the same TCP connection: a handshake agrees on keys, and the server shows a
 * certificate, signed by an authority, naming the hosts it is for. Encryption without that
 * check hides your traffic from everyone except an impostor. https.ts (read it with this
 * page) lets the handshake finish, then checks the certificate itself; here is what the
 * server showed. With no --host and no --port: the practice server, over TLS.
 */
import type { Socket } from "bun";
import { command, endpoint, fail, flag, whyConnectFailed } from "../lib/cli.ts";
import { PRACTICE_CERT, startPracticeServer } from "./10-practice-server.ts";
import { connectTls, readPem, type TlsOptions } from "./https.ts";

/** Connects, and describes the session and the certificate before hanging up. */
export async function inspectTls(host: string, port: number, options: TlsOptions = {}) {
  const started = performance.now();
  const { socket, session } = await connectTls(host, port, { data() {} }, options);
  const connectMs = Math.round((performance.now() - started) * 10) / 10;
  const certificate = describeCertificate(socket);
  socket.end();
  return { host, port, connectMs, ...session, ...certificate };
}

/** Who the certificate says the server is, who signed it, for how long, and its fingerprint. */
export function describeCertificate(socket: Socket<undefined>) {
  const certificate = socket.getPeerCertificate();
  const name = (fields = {}): string =>
    Array.from(Object.entries(fields), (pair) => pair.join("=")).join(", ");
  return {
    subject: name(certificate.subject),
    issuer: name(certificate.issuer),
    names: certificate.subjectaltname ?? "",
    validFrom: certificate.valid_from,
    validTo: certificate.valid_to,
    sha256: certificate.fingerprint256,
  };
}

if (import.meta.main) {
  const cli = command("03-http-client/11-tls.ts", "Connects over TLS and shows the certificate.", {
    host: flag.host(undefined, "host name or IP address (default: the practice server)"),
    port: flag.port(undefined, "port (default 443, or the practice server's)", { min: 1 }),
    ca: flag.text(undefined, "trust the authorities in this PEM file", "FILE", readPem),
    insecure: flag.bool("go on when the certificate does not verify (but say why)"),
    timeout: flag.decimal(5, "seconds to wait for the connection and handshake", { min: 0.01 }),
    json: flag.bool("print one JSON document instead of text"),
  });
  const args = cli.parse();
  // The practice server's certificate is trusted by default only for the practice server.
  const practice = args.host || args.port ? undefined : await startPracticeServer({ tls: true });
  if (practice && !args.json)
    console.log(`(no --host: the practice server over TLS, trusting ${PRACTICE_CERT})`);
  const host = practice?.host ?? args.host ?? "127.0.0.1";
  const port = practice?.ports[0] ?? args.port ?? 443;
  const ca = args.ca ?? practice?.ca;
  const options = { ca, insecure: args.insecure, timeoutMs: args.timeout * 1000 };
  const tls = await inspectTls(host, port, options).catch(async (error) =>
    fail(error.code ? await whyConnectFailed(error, host, port) : error.message),
  );
  await practice?.stop();
  const issuer = tls.issuer === tls.subject ? "itself (self-signed)" : tls.issuer;
  const verified = tls.verified
    ? `yes: signed by an authority we trust, for ${host}`
    : `NO (${tls.problem}): going on only because of --insecure`;
  if (args.json) console.log(JSON.stringify({ ...tls, practice: !!practice }, null, 2));
  else
    console.log(`TLS with ${endpoint(host, port)}: ${tls.protocol}, ${tls.cipher}, ready in ${tls.connectMs} ms
certificate: ${tls.subject}
  issued by: ${issuer}
  names:     ${tls.names}
  valid:     ${tls.validFrom} to ${tls.validTo}
  sha256:    ${tls.sha256}
verified: ${verified}`);
}
