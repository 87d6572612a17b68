/**
 * The http and https schemes for the chapter's clients (RFC 9110, section 4.2): where a URL
 * points, and how to reach it. An https URL means TLS, and the check that makes TLS worth
 * having (section 4.3.4): encryption alone hides the traffic from everyone but an impostor,
 * so the server's certificate must also be signed by an authority we trust and name the host
 * we asked for. Read it with lesson 11-tls; lessons 12 and 13 open their URLs with it, and
 * lessons 03 and 05 check their `--path` with `checkPath()`.
 *
 * Bun's `rejectUnauthorized` has had bugs (#33754, #33846), and with it a bad certificate
 * closes the socket with nothing to report; so every handshake is let finish, and the
 * decision is ours, from the `authorizationError` the handshake gives.
 */
import type { Socket, SocketHandler } from "bun";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { CONNECT_TIMEOUT_MS, connect, endpoint, timeoutError, UsageError } from "../lib/cli.ts";
import { whyConnectFailed } from "../lib/cli.ts";

/** `example.com/x` means http://example.com/x; only http and https. A string says why not. */
export function parseUrl(text: string, tls = false): URL | string {
  const url = URL.parse(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  if (url === null) return `"${text}" is not a URL: write it like http://example.com/path`;
  if (!/^https?:$/.test(url.protocol)) return `only http(s):// URLs, not ${url.protocol}//`;
  if (tls) url.protocol = "https:";
  return url;
}

/** A path for a request line (`--path`): starts with /, no spaces or control characters. */
export function checkPath(path: string): string {
  if (/^\/[\x21-\x7e]*$/.test(path)) return path;
  throw new UsageError(
    `--path must start with / and hold no spaces or control characters (got "${path}")`,
  );
}

/**
 * Opens the connection a URL names: TCP, or TLS for https, its certificate checked. Every
 * failure is one sentence: a refusal, a timeout or an unknown name in lib's words.
 */
export async function openUrl(url: URL, options: TlsOptions, handlers: SocketHandler<undefined>) {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  try {
    if (url.protocol === "https:") return await connectTls(host, port, handlers, options);
    return { socket: await connect(host, port, handlers, options.timeoutMs), session: null };
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code) throw error;
    throw new Error(await whyConnectFailed(error, host, port));
  }
}

export interface TlsOptions {
  /** PEM text of the authorities to trust instead of the usual ones (Mozilla's list). */
  ca?: string;
  /** Go on when the certificate does not verify: for a test server, never a real one. */
  insecure?: boolean;
  /** For the connection and the handshake together. */
  timeoutMs?: number;
}

/** A request's method and its bounds, for the clients of lessons 12 and 13. */
export interface RequestOptions extends TlsOptions {
  method?: "GET" | "HEAD";
  /** Give up when the server sends nothing for this long. */
  idleMs?: number;
  /** Refuse a body larger than this many bytes. */
  maxBytes?: number;
}

/** What the handshake settled, read at once: once the peer has closed, Bun has no session. */
export interface TlsSession {
  protocol: string | null;
  cipher: string;
  verified: boolean;
  problem: string | null;
}

/**
 * A TLS connection whose certificate verified (or `insecure`), and its session; otherwise an
 * error whose message is one sentence. A refusal or a timeout rejects with its `code`, for
 * lib's whyConnectFailed().
 */
export async function connectTls<Data = undefined>(
  host: string,
  port: number,
  handlers: SocketHandler<Data>,
  { ca, insecure = false, timeoutMs = CONNECT_TIMEOUT_MS }: TlsOptions = {},
): Promise<{ socket: Socket<Data>; session: TlsSession }> {
  const handshake = Promise.withResolvers<Error | null>();
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(timeoutMs)), timeoutMs);
  });
  let connecting: Promise<Socket<Data>>;
  try {
    connecting = Bun.connect<Data>({
      hostname: host,
      port,
      // The name goes in SNI and is what the certificate must list; an IP, its IP addresses.
      tls: { ca, serverName: isIP(host) ? undefined : host, rejectUnauthorized: false },
      socket: { ...handlers, handshake: (_socket, _success, error) => handshake.resolve(error) },
    });
  } catch (error) {
    // Bun checks the options at once: a --ca file that holds no certificate fails here.
    clearTimeout(timer);
    throw new Error(
      `cannot connect to ${endpoint(host, port)}: ${(error as Error).message} (check --ca)`,
    );
  }
  try {
    const socket = await Promise.race([connecting, late]);
    const error = await Promise.race([handshake.promise, late]);
    const session = {
      protocol: socket.getTLSVersion(),
      cipher: socket.getCipher()?.name ?? "?",
      verified: error === null,
      problem: error?.message ?? null,
    };
    // Errno-like codes (EPROTO, ECONNRESET) mean there was no TLS session to go on with.
    const noSession = /^E[A-Z]+$/.test((error as NodeJS.ErrnoException | null)?.code ?? "");
    if (error === null || (insecure && !noSession)) return { socket, session };
    const names = socket.getPeerCertificate()?.subjectaltname;
    socket.terminate();
    throw new Error(certificateProblem(error, host, endpoint(host, port), names));
  } catch (error) {
    connecting.then(
      (opened) => opened.terminate(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Why a handshake or a certificate failed, in words, from the code Bun gives (OpenSSL's). */
export function certificateProblem(error: Error, host: string, where = host, names = "?"): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (/^E[A-Z]+$/.test(code))
    return `no TLS handshake with ${where} (${code}): does that port speak TLS?`;
  if (/SELF_SIGNED/.test(code))
    return `the certificate of ${host} is self-signed, so nobody vouches for it: if you trust it, pass it with --ca FILE (or --insecure)`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `the certificate is not for ${host} but for other names (${names}): use one of those`;
  if (code === "CERT_HAS_EXPIRED") return `the certificate of ${host} has expired`;
  return `the certificate of ${host} is not signed by an authority we trust (${code}): see --ca FILE`;
}

/** The text of a PEM file, for a `--ca FILE` flag: a file that will not do is a usage error. */
export function readPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file} (${code}): give a PEM file`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text))
    throw new UsageError(
      `${file} is not a PEM file (no "-----BEGIN" line): give a PEM certificate`,
    );
  return text;
}
