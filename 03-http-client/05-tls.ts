/**
 * @title TLS
 * @summary Connect over TLS, as https does, check the server's certificate, and show who it says it is.
 * @run bun run 03-http-client/05-tls.ts [--host example.com] [--port 443] [--ca FILE] [--insecure] [--timeout 5] [--json]
 * @python new
 *
 * TLS runs over the same TCP connection: a handshake agrees on keys, and the server shows
 * a certificate, signed by an authority we trust, naming the host we asked for. Without
 * that check, encryption only hides your traffic from everyone except an impostor. Bun's
 * `rejectUnauthorized` has had bugs (#33754, #33846), so we let every handshake finish
 * and decide ourselves from what it reports. With no --host: the practice server, over TLS.
 */
import { isIP } from "node:net";
import type { Resolver } from "./01-resolve.ts";
import { type Connection, connectToHost } from "./02-connect.ts";
import { CLIENT_FLAGS, clientTarget, PRACTICE_CERT } from "./08-practice-server.ts";
import * as cli from "./command-line.ts";

export interface TlsOptions {
  /** PEM text of the authorities to trust instead of the usual ones (Mozilla's list). */
  ca?: string;
  /** Go on even when the certificate does not verify: for a test server, never a real one. */
  insecure?: boolean;
  timeoutMs?: number;
  resolver?: Resolver;
}

/** Why a certificate did not verify, in words, from the code Bun gives (OpenSSL's codes). */
export function certificateProblem(error: Error, host: string, names = "?"): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (/SELF_SIGNED/.test(code))
    return `the certificate of ${host} is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `the certificate is not for ${host} but for other names (${names}): use one of those`;
  if (code === "CERT_HAS_EXPIRED") return `the certificate of ${host} has expired`;
  return `the certificate of ${host} is not signed by an authority we trust (${code}): see --ca FILE`;
}

/** A TLS connection whose certificate verified (or `insecure`); otherwise one sentence why not. */
export async function connectTls(
  host: string,
  port: number,
  options: TlsOptions = {},
): Promise<Connection> {
  // The name goes in SNI and is what the certificate must list; an IP is checked against its IPs.
  const tls = {
    ca: options.ca,
    serverName: isIP(host) ? undefined : host,
    rejectUnauthorized: false,
  };
  const connection = await connectToHost(host, port, { ...options, tls });
  const error = connection.authorizationError;
  if (!error) return connection;
  // Errno-like codes (EPROTO, ECONNRESET) mean there was no TLS session at all.
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (/^E[A-Z]+$/.test(code)) {
    connection.socket.terminate();
    throw new Error(
      `no TLS handshake with ${connection.where} (${code}): does that port speak TLS?`,
    );
  }
  if (options.insecure) return connection;
  const names = connection.socket.getPeerCertificate()?.subjectaltname;
  connection.socket.terminate();
  throw new Error(certificateProblem(error, host, names));
}

/** The session: protocol, cipher, and the certificate's names, issuer, dates and fingerprint. */
export function describeTls({ socket, authorizationError }: Connection) {
  const certificate = socket.getPeerCertificate();
  const name = (fields: object = {}): string =>
    Object.entries(fields)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ");
  return {
    protocol: socket.getTLSVersion(),
    cipher: socket.getCipher().name,
    verified: authorizationError === null,
    problem: authorizationError?.message ?? null,
    subject: name(certificate.subject),
    issuer: name(certificate.issuer),
    names: certificate.subjectaltname ?? "",
    validFrom: certificate.valid_from,
    validTo: certificate.valid_to,
    sha256: certificate.fingerprint256,
  };
}
export type TlsSession = ReturnType<typeof describeTls>;

const usage = `usage: bun run 03-http-client/05-tls.ts [--host NAME] [--port N] [--ca FILE] [--insecure]
       [--timeout S] [--json]

Connects over TLS, verifies the server's certificate and shows it. With no --host
and no --port: the practice server over TLS, checked against its own certificate.
  --host NAME    host name or IP address (default 127.0.0.1)
  --port N       port (default 443)
  --ca FILE      trust the authorities in this PEM file instead of the usual ones
  --insecure     go on when the certificate does not verify (but say why)
  --timeout S    give up on connection and handshake after S seconds (default 5)
  --json         print one JSON document instead of text`;

if (import.meta.main) {
  const flags = {
    ...CLIENT_FLAGS,
    ca: { type: "string" },
    insecure: { type: "boolean" },
    timeout: { type: "string" },
  } as const;
  const args = cli.parseCommandLine(usage, flags, (values) => {
    // The practice server's certificate is trusted by default only for the practice server.
    const practice = values.host === undefined && values.port === undefined;
    const ca = values.ca ?? (practice ? PRACTICE_CERT : undefined);
    const options = {
      ca: ca === undefined ? undefined : cli.readPem(ca),
      insecure: values.insecure,
      timeoutMs: cli.parseSeconds("timeout", values.timeout, 5),
    };
    const target = clientTarget(values, 443, true);
    if (practice && !values.ca && !values.json) console.log(`(trusting its certificate, ${ca})`);
    return { target, options, json: values.json };
  });
  const { target } = args;
  await cli.runClient(async () => {
    const connection = await connectTls(target.host, target.port, args.options);
    const session = describeTls(connection);
    const connectMs = Math.round(connection.connectMs * 10) / 10;
    connection.close();
    if (args.json) console.log(JSON.stringify({ ...target, connectMs, ...session }, null, 2));
    else
      console.log(`TLS with ${target.host} (${connection.where}): ${session.protocol}, ${session.cipher}, ready in ${connectMs} ms
certificate: ${session.subject}
  issued by: ${session.issuer === session.subject ? "itself (self-signed)" : session.issuer}
  names:     ${session.names}
  valid:     ${session.validFrom} to ${session.validTo}
  sha256:    ${session.sha256}
verified: ${session.verified ? `yes: signed by an authority we trust, for ${target.host}` : `NO (${session.problem}): going on only because of --insecure`}`);
  }, target.stop);
}
