/**
 * @title Resuming client
 * @summary The chapter's client: list, get and put; an interrupted get keeps NAME.part, and the next one resumes it, or starts over if the server's file changed.
 * @run bun run 07-transfer/07-client.ts [list|get NAME|put FILE] [--host 127.0.0.1] [--port PORT] [--out .] [--as NAME] [--replace] [--no-verify] [--json]
 * @python tcp_sockets_python.py#FileTransferServer
 *
 * Lesson 03 deleted a file that did not arrive whole. This client keeps what came in
 * NAME.part, and the digest it was promised in NAME.part.sha256. The next get asks for the
 * rest from the end of the part and compares the digest announced now with the one promised
 * then: the same file, and it hashes the part it has and goes on where it stopped; a changed
 * one, and it says CANCEL and starts from byte 0. Only a whole file whose SHA-256 matches is
 * renamed to NAME.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, readFileSync } from "node:fs";
import { renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { command, fail, flag, usageError } from "../lib/cli.ts";
import { startFileServer } from "./06-file-server.ts";
import { Channel, openLocal, TransferError } from "./channel.ts";
import { hashFile } from "./disk.ts";
import { type Entry, formatBytes, type Offer, parseOffer } from "./protocol.ts";

/** GET `name` into `path` through `path.part`, resuming it if the file is still the same. */
export async function getFile(channel: Channel, name: string, path: string, verify = true) {
  const started = performance.now();
  // A device (/dev/null, to measure) is written straight: it has no .part beside it.
  const device = statSync(path, { throwIfNoEntry: false })?.isFile() === false;
  const part = device ? path : `${path}.part`;
  const promise = `${part}.sha256`;
  const promised = !device && existsSync(promise) ? readFileSync(promise, "utf8") : "";
  const fd = openLocal(part, device ? "w" : existsSync(part) ? "r+" : "w+");
  try {
    let from = promised ? fstatSync(fd).size : 0;
    let offer = from > 0 ? await offerFrom(channel, name, from) : undefined;
    // The digest announced now is not the one promised when .part began: the file changed.
    const restarted = from > 0 && offer?.sha256 !== promised;
    if (restarted && offer) await channel.ask("CANCEL");
    if (!offer || restarted) {
      from = 0;
      offer = (await offerFrom(channel, name, 0)) as Offer;
    }
    if (!device) ftruncateSync(fd, from);
    if (!device) writeFileSync(promise, offer.sha256);
    // The whole file's digest needs the bytes we have too: hash them first.
    const hasher = verify ? await hashFile(fd, from) : null;
    channel.send("READY\n");
    await channel
      .receiveFile(offer.size - from, fd, { label: name, position: from, hasher })
      .catch((error: Error) => {
        const kept = `${part} keeps ${formatBytes(fstatSync(fd).size)}: get it again to resume`;
        throw new TransferError(`${error.message}; ${kept}`);
      });
    const sha256 = hasher?.digest("hex") ?? "";
    if (verify && sha256 !== offer.sha256) {
      rmSync(part, { force: true });
      rmSync(promise, { force: true });
      throw new TransferError(`${name} arrived damaged (SHA-256 ${sha256}): deleted, get it again`);
    }
    if (!device) renameSync(part, path);
    rmSync(promise, { force: true });
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    return { path, bytes: offer.size, resumedFrom: from, restarted, ms, sha256, verified: verify };
  } finally {
    closeSync(fd);
  }
}

/** GET name offset. From 0 it must be an offer; a later offset may be refused (it shrank). */
async function offerFrom(channel: Channel, name: string, offset: number) {
  const answer = await channel.ask(`GET ${name} ${offset}`).catch((error: Error) => {
    if (offset === 0) throw error;
    return "";
  });
  const offer = parseOffer(answer);
  if (!offer && offset === 0) throw new TransferError(`the server answered GET with "${answer}"`);
  return offer;
}

/** PUT `file` as `name`: hashed first, sent after READY, its digest checked by the server. */
export async function putFile(channel: Channel, file: string, name: string, replace = false) {
  const started = performance.now();
  const fd = openLocal(file, "r");
  try {
    const size = fstatSync(fd).size;
    const sha256 = (await hashFile(fd, size)).digest("hex");
    await channel.put(fd, size, name, sha256, replace);
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    return { path: `${name} on the server`, bytes: size, ms, sha256, verified: true };
  } finally {
    closeSync(fd);
  }
}

type Done = { files: Entry[] } | Awaited<ReturnType<typeof getFile | typeof putFile>>;

/** For a person: the files listed, or the file moved, with its numbers. */
function show(done: Done): string {
  if ("files" in done)
    return done.files.map((e) => `${e.name}  ${formatBytes(e.size)}  ${e.modified}`).join("\n");
  const get = "resumedFrom" in done ? done : undefined;
  const moved = done.bytes - (get?.resumedFrom ?? 0);
  let rate = `${formatBytes((moved / Math.max(done.ms, 0.001)) * 1000)}/s`;
  if (get?.restarted) rate += ", the file had changed: started over";
  else if (get?.resumedFrom) rate += `, resumed at ${formatBytes(get.resumedFrom)}`;
  const check = done.verified ? `SHA-256 verified: ${done.sha256}` : "not verified";
  const what = `${get ? "saved" : "stored"} ${done.path}`;
  return `${what}: ${formatBytes(moved)} in ${done.ms} ms (${rate}); ${check}`;
}

const cli = command(
  "07-transfer/07-client.ts",
  "Lists a file server's files, gets one (resuming NAME.part), or puts one; checks SHA-256.",
  {
    host: flag.host("127.0.0.1", "the file server's host"),
    port: flag.port(undefined, "its port (none: start lesson 06's server here)", { min: 1 }),
    out: flag.text(".", "where get saves: a folder, or a file (/dev/null discards)", "PATH"),
    as: flag.text(undefined, "put: the name on the server (default: the file's own)", "NAME"),
    replace: flag.bool("overwrite an existing file: get, the local one; put, the server's"),
    "no-verify": flag.bool("get: do not hash what arrives (measures the network alone)"),
    json: flag.bool("print one JSON document on stdout instead of sentences"),
  },
  { shown: "[list|get NAME|put FILE]", help: "what to do (default: list)", max: 2 },
);

if (import.meta.main) {
  const { words, host, port, out, as, replace, json, ...rest } = cli.parse();
  const [verb = "list", name = ""] = words;
  if (!["list", "get", "put"].includes(verb) || (verb === "list") !== (name === ""))
    usageError(`say list, get NAME or put FILE (got "${words.join(" ")}")`, cli.usage);
  const local = port === undefined ? startFileServer({ port: 0 }) : undefined;
  if (local) console.error(`no --port: started lesson 06's server on 127.0.0.1:${local.tcp.port}`);
  const inFolder = statSync(out, { throwIfNoEntry: false })?.isDirectory();
  const target = inFolder ? join(out, basename(name)) : out;
  try {
    if (verb === "get" && statSync(target, { throwIfNoEntry: false })?.isFile() && !replace)
      throw new TransferError(`${target} exists: add --replace to overwrite it`);
    const channel = await Channel.open(host, port ?? local?.tcp.port ?? 0);
    let result: Done;
    if (verb === "list") result = { files: await channel.list() };
    else if (verb === "put") result = await putFile(channel, name, as ?? basename(name), replace);
    else result = await getFile(channel, name, target, !rest["no-verify"]);
    channel.close();
    console.log(json ? JSON.stringify(result) : show(result));
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    fail(error.message);
  } finally {
    local?.stop();
  }
}
