/**
 * @title File server
 * @summary The chapter's whole file server: LIST, GET from any offset with each file version's SHA-256 computed once, verified PUT, QUIT, and no way out of its folder.
 * @run bun run 07-transfer/06-file-server.ts [--host 127.0.0.1] [--port 9009] [--root PATH] [--idle 60]
 * @python tcp_sockets_python.py#FileTransferServer
 * @serves tcp "LIST\n" -> /OK \d+ files?\n/
 * @limits idle --idle · memory 100 MiB
 *
 * Lessons 02, 04 and 05 together, and the server's half of resuming: `GET name offset`
 * announces the whole file's size and SHA-256 but sends from the offset. Hashing a 1 GiB
 * file takes most of a second, so each version of a file (inode, size, mtime, ctime) is
 * hashed once and remembered (folder.ts's DigestCache): the next GET is announced at once,
 * and a file changed in between announces a new digest, which tells the client to start over.
 */
import { closeSync } from "node:fs";
import { command, fail, flag, serve } from "../lib/cli.ts";
import { DEFAULT_ROOT, DigestCache, listFolder, openInRoot, prepareRoot } from "./folder.ts";
import { Upload, whyNotStored } from "./folder.ts";
import { DEFAULT_PORT, type Get, parseCommand, type Put } from "./protocol.ts";
import { printable, Refused, reply } from "./protocol.ts";
import { type Session, sessions } from "./session.ts";

/** Starts the server; every client shares one DigestCache. */
export function startFileServer({
  host = "127.0.0.1",
  port = DEFAULT_PORT,
  root = DEFAULT_ROOT,
  idleSeconds = 60,
  log = (_line: string): void => {},
} = {}) {
  const folder = prepareRoot(root);
  const digests = new DigestCache();
  const listener = Bun.listen<Session>({
    hostname: host,
    port,
    allowHalfOpen: true,
    socket: sessions((session, line) => run(session, line, folder, digests), {
      idleSeconds,
      log,
    }),
  });
  return { tcp: listener, root: folder, digests, stop: () => listener.stop(true) };
}

function run(session: Session, line: string, root: string, digests: DigestCache) {
  const command = parseCommand(line);
  if (command.verb === "LIST") session.send(reply.listing(listFolder(root)));
  else if (command.verb === "GET") return offer(session, root, digests, command);
  else if (command.verb === "READY") return sendOffered(session);
  else if (command.verb === "CANCEL") {
    session.dropOffer();
    session.send(reply.ok("cancelled"));
  } else if (command.verb === "PUT") return receive(session, root, digests, command);
  else if (command.verb === "QUIT") {
    session.send(reply.bye());
    session.end();
  } else throw new Refused(command.why);
}

/** GET name offset: announce the whole file's size and digest; READY sends from the offset. */
async function offer(session: Session, root: string, digests: DigestCache, get: Get) {
  session.dropOffer();
  const file = openInRoot(root, get.name);
  if (get.offset > file.size) {
    closeSync(file.fd);
    throw new Refused(
      `offset ${get.offset} is past the end of ${printable(get.name)} (${file.size} bytes)`,
    );
  }
  const sha256 = await digests.of(file).catch((error: Error) => {
    closeSync(file.fd);
    throw error;
  });
  if (session.closed) {
    closeSync(file.fd);
    return;
  }
  session.offered = { name: get.name, fd: file.fd, from: get.offset, to: file.size };
  session.send(reply.sending({ name: get.name, size: file.size, sha256, offset: get.offset }));
}

/** READY: send the offered bytes, then close the file. */
async function sendOffered(session: Session): Promise<void> {
  const offered = session.offered;
  if (!offered) throw new Refused("READY answers SENDING_FILE: send GET name first");
  session.offered = undefined;
  try {
    await session.sendFile(offered.fd, offered.from, offered.to);
  } finally {
    closeSync(offered.fd);
  }
  session.log(
    `sent ${offered.name} from byte ${offered.from} (${offered.to - offered.from} bytes)`,
  );
}

/** PUT, as lesson 05 takes it; the new version's digest is remembered for the next GET. */
async function receive(session: Session, root: string, digests: DigestCache, put: Put) {
  const upload = Upload.begin(root, put.name, put.replace);
  const forget = session.onClose(() => upload.abort());
  session.send(reply.ready());
  try {
    const sha256 = await session.receiveFile(upload.fd, put.size, (error) => {
      upload.abort();
      session.send(reply.error(whyNotStored(put.name, error)));
    });
    if (sha256 === undefined) return;
    digests.remember(await upload.commit(sha256, put.sha256), sha256);
    session.send(reply.ok(`stored ${put.name}: ${put.size} bytes, SHA-256 verified`));
    session.log(`stored ${put.name} (${put.size} bytes)`);
  } finally {
    upload.abort();
    forget();
  }
}

const cli = command(
  "07-transfer/06-file-server.ts",
  "The file server: LIST, GET name [offset], PUT name size sha256 [replace], QUIT, in one folder.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(DEFAULT_PORT, "port to listen on; 0 takes any free port"),
    root: flag.text(undefined, "folder to serve (default: 07-transfer/shared_files)", "PATH"),
    idle: flag.decimal(60, "seconds a quiet client is kept before it is closed", { min: 0.1 }),
  },
);

if (import.meta.main) {
  const { host, port, root, idle } = cli.parse();
  let folder: string;
  try {
    folder = prepareRoot(root ?? DEFAULT_ROOT);
  } catch (error) {
    fail((error as Error).message);
  }
  const start = () =>
    startFileServer({ host, port, root: folder, idleSeconds: idle, log: console.log });
  const hint = `serving ${folder}: try  bun run 07-transfer/07-client.ts --port PORT`;
  await serve(host, port, start, hint);
}
