/**
 * @title Put guard
 * @summary Take uploads so that a half-received, corrupt or colliding file never appears under its name: a temporary file created exclusively, hashed as it fills, renamed into place only when its SHA-256 matches.
 * @run bun run 07-transfer/05-put.ts [--host 127.0.0.1] [--port 9009] [--root PATH] [--idle 60]
 * @python new
 * @serves tcp "LIST\n" -> /OK \d+ files?\n/
 * @limits idle --idle · memory 100 MiB
 *
 * Written straight to its name, a 100 MiB upload is on show half-written for as long as it
 * arrives, stays torn when its client leaves at 40 MiB, and replaces a good file with bad
 * bytes when one bit flips. Here it goes to a hidden `.upload-*` file beside its target
 * (folder.ts's Upload), gets its name only once all its bytes are on disk and their SHA-256
 * is the one announced, and never takes an existing name unless the client says `replace`.
 */
import { command, fail, flag, serve } from "../lib/cli.ts";
import { DEFAULT_ROOT, listFolder, prepareRoot, Upload, whyNotStored } from "./folder.ts";
import { DEFAULT_PORT, parseCommand, type Put, Refused, reply } from "./protocol.ts";
import { type Session, sessions } from "./session.ts";

/** Starts the server: LIST and PUT, each client a Session (session.ts). */
export function startPutServer({
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
    allowHalfOpen: true,
    socket: sessions((session, line) => run(session, line, folder), { idleSeconds, log }),
  });
  return { tcp: listener, root: folder, stop: () => listener.stop(true) };
}

function run(session: Session, line: string, root: string): void | Promise<void> {
  const command = parseCommand(line);
  if (command.verb === "LIST") session.send(reply.listing(listFolder(root)));
  else if (command.verb === "PUT") return receive(session, root, command);
  else if (command.verb === "QUIT") {
    session.send(reply.bye());
    session.end();
  } else if (command.verb === "INVALID") throw new Refused(command.why);
  else throw new Refused(`this server only takes files: ${command.verb} is lesson 06's`);
}

/** PUT: a temporary file, READY, its bytes hashed on their way to disk, check, rename. */
export async function receive(session: Session, root: string, put: Put): Promise<void> {
  const upload = Upload.begin(root, put.name, put.replace);
  const forget = session.onClose(() => upload.abort());
  session.send(reply.ready());
  try {
    const sha256 = await session.receiveFile(upload.fd, put.size, (error) => {
      // A full disk is said at once, and the temporary file goes at once; the rest of the
      // announced bytes are read and dropped, so the client may go on with other commands.
      upload.abort();
      session.send(reply.error(whyNotStored(put.name, error)));
    });
    if (sha256 === undefined) return;
    await upload.commit(sha256, put.sha256);
    session.send(reply.ok(`stored ${put.name}: ${put.size} bytes, SHA-256 verified`));
    session.log(`stored ${put.name} (${put.size} bytes)`);
  } finally {
    upload.abort();
    forget();
  }
}

const cli = command(
  "07-transfer/05-put.ts",
  "A drop box: LIST shows its folder's files; PUT name size sha256 [replace] stores one, verified.",
  {
    host: flag.listen("127.0.0.1"),
    port: flag.port(DEFAULT_PORT, "port to listen on; 0 takes any free port"),
    root: flag.text(undefined, "folder to store in (default: 07-transfer/shared_files)", "PATH"),
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
    startPutServer({ host, port, root: folder, idleSeconds: idle, log: console.log });
  await serve(
    host,
    port,
    start,
    `storing in ${folder}: try  bun run 07-transfer/07-client.ts put FILE --port PORT`,
  );
}
