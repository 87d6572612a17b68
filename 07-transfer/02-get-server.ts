/**
 * @title List and get
 * @summary The lab's file server done right: LIST, then GET announces the size and SHA-256, waits for READY, and streams the file with backpressure.
 * @run bun run 07-transfer/02-get-server.ts [--host 127.0.0.1] [--port 9009] [--root PATH] [--idle 60]
 * @python tcp_sockets_python.py#FileTransferServer
 * @serves tcp "LIST\n" -> /OK \d+ files?\n/
 * @limits idle --idle · memory 100 MiB
 *
 * The lab's server said SENDING_FILE and the size, waited for READY, then sent 4 KB chunks.
 * This one also announces the SHA-256, so the client can check what it got, and streams from
 * one 1 MiB buffer refilled only once the socket has taken all of it (disk.ts's FileSender,
 * driven by session.ts: read both next): a slow reader holds 1 MiB of our memory, not its
 * file. Names are joined to the folder unchecked: lesson 04 shows what that lets out.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import { join } from "node:path";
import { command, fail, flag, serve } from "../lib/cli.ts";
import { hashFile } from "./disk.ts";
import { DEFAULT_ROOT, listFolder, prepareRoot } from "./folder.ts";
import { DEFAULT_PORT, parseCommand, printable, Refused, reply } from "./protocol.ts";
import { type Session, sessions } from "./session.ts";

/** Starts the server. Each client gets a Session (session.ts) running `run` on its lines. */
export function startGetServer({
  host = "127.0.0.1",
  port = DEFAULT_PORT,
  root = DEFAULT_ROOT,
  idleSeconds = 60,
  log = (_line: string): void => {},
} = {}) {
  const folder = prepareRoot(root);
  const listener = Bun.listen<Session>({
    hostname: host,
    port,
    // After a client's FIN we still owe it the answers: `printf 'LIST\n' | nc` gets them.
    allowHalfOpen: true,
    socket: sessions((session, line) => run(session, line, folder), { idleSeconds, log }),
  });
  return { tcp: listener, root: folder, stop: () => listener.stop(true) };
}

function run(session: Session, line: string, root: string): void | Promise<void> {
  const command = parseCommand(line);
  if (command.verb === "LIST") session.send(reply.listing(listFolder(root)));
  else if (command.verb === "GET") {
    if (command.offset !== 0) throw new Refused("this server sends whole files (see lesson 06)");
    return offer(session, root, command.name);
  } else if (command.verb === "READY") return sendOffered(session);
  else if (command.verb === "CANCEL") {
    session.dropOffer();
    session.send(reply.ok("cancelled"));
  } else if (command.verb === "QUIT") {
    session.send(reply.bye());
    session.end();
  } else if (command.verb === "PUT") throw new Refused("this server only sends (see lesson 05)");
  else throw new Refused(command.why);
}

/** GET: open the file, hash it, announce its size and digest; the client answers READY. */
async function offer(session: Session, root: string, name: string): Promise<void> {
  session.dropOffer();
  let fd: number;
  try {
    fd = openSync(join(root, name), "r");
  } catch {
    throw new Refused(`no such file: ${printable(name)}`);
  }
  const size = fstatSync(fd).size;
  let sha256: string;
  try {
    // Every GET reads the file twice, once to hash it and once to send it: lesson 06 hashes
    // each version of a file once.
    sha256 = (await hashFile(fd, size)).digest("hex");
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (session.closed) {
    closeSync(fd);
    return;
  }
  session.offered = { name, fd, from: 0, to: size };
  session.send(reply.sending({ name, size, sha256, offset: 0 }));
}

/** READY: send the offered bytes, then close the file. */
async function sendOffered(session: Session): Promise<void> {
  const offered = session.offered;
  if (!offered) throw new Refused("READY answers SENDING_FILE: send GET name first");
  session.offered = undefined;
  const started = performance.now();
  try {
    await session.sendFile(offered.fd, offered.from, offered.to);
  } finally {
    closeSync(offered.fd);
  }
  const ms = Math.round(performance.now() - started);
  session.log(`sent ${offered.name} (${offered.to - offered.from} bytes) in ${ms} ms`);
}

const cli = command(
  "07-transfer/02-get-server.ts",
  "A file server: LIST shows its folder's files; GET name announces one, and sends it after READY.",
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
    startGetServer({ host, port, root: folder, idleSeconds: idle, log: console.log });
  await serve(host, port, start, `serving ${folder}: try  nc HOST PORT, then type LIST`);
}
