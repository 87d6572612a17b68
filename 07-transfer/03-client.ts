/**
 * @title Get client
 * @summary List the server's files, or get one: answer READY, take exactly the announced bytes, hash them on the way with a progress bar, and check the SHA-256.
 * @run bun run 07-transfer/03-client.ts [list|get NAME] [--host 127.0.0.1] [--port PORT] [--out .] [--json]
 * @python tcp_sockets_python.py#FileTransferServer
 *
 * The lab's client read until it had the announced size, drawing a bar. This one also
 * hashes each chunk as it arrives, so the SHA-256 is known the moment the last byte is in:
 * the file is verified, or deleted with a sentence saying why. channel.ts frames the talk,
 * disk.ts's DiskWriter holds the socket while the disk catches up, progress.ts draws the
 * bar. With no --port it starts lesson 02's server itself.
 */
import { closeSync, unlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { command, fail, flag, usageError } from "../lib/cli.ts";
import { startGetServer } from "./02-get-server.ts";
import { Channel, openLocal, TransferError } from "./channel.ts";
import { type Entry, formatBytes, parseOffer } from "./protocol.ts";

export interface Got {
  name: string;
  path: string;
  bytes: number;
  ms: number;
  sha256: string;
  verified: boolean;
}

/** GET `name` into `folder`: the file is there and verified, or not there at all. */
export async function getFile(channel: Channel, name: string, folder: string): Promise<Got> {
  const started = performance.now();
  const answer = await channel.ask(`GET ${name}`);
  const offer = parseOffer(answer);
  if (!offer) throw new TransferError(`the server answered GET with "${answer}"`);
  const path = join(folder, basename(name));
  const fd = openLocal(path, "w");
  // READY: from now on exactly offer.size bytes are the file's, not reply lines.
  channel.send("READY\n");
  let why = "";
  const writer = await channel.receiveFile(offer.size, fd, { label: name }).catch((error) => {
    why = (error as Error).message;
    return undefined;
  });
  closeSync(fd);
  // The digest is known the moment the last byte is in: each chunk was hashed as it came.
  const sha256 = writer?.hasher?.digest("hex") ?? "";
  if (sha256 !== offer.sha256) {
    unlinkSync(path);
    if (!why) why = `its SHA-256 is ${sha256}, the server announced ${offer.sha256}`;
    throw new TransferError(`${name} did not arrive whole (${why}): deleted it`);
  }
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  return { name, path, bytes: offer.size, ms, sha256, verified: true };
}

function show(result: Got | Entry[]): string {
  if (Array.isArray(result)) {
    const rows = result.map(
      (e) => `  ${e.name.padEnd(24)} ${formatBytes(e.size).padStart(10)}  ${e.modified}`,
    );
    return [`${result.length} file(s):`, ...rows].join("\n");
  }
  const rate = `${formatBytes((result.bytes / Math.max(result.ms, 0.001)) * 1000)}/s`;
  const size = `${formatBytes(result.bytes)} in ${result.ms} ms (${rate})`;
  return `saved ${result.path}: ${size}; SHA-256 verified: ${result.sha256}`;
}

const cli = command(
  "07-transfer/03-client.ts",
  "Lists a file server's files, or gets one and checks its SHA-256.",
  {
    host: flag.host("127.0.0.1", "the file server's host"),
    port: flag.port(undefined, "the file server's port (none: start lesson 02's server here)", {
      min: 1,
    }),
    out: flag.text(".", "folder to save a file in", "DIR"),
    json: flag.bool("print one JSON document on stdout instead of sentences"),
  },
  { shown: "[list|get NAME]", help: "list the files, or get one (default: list)", max: 2 },
);

if (import.meta.main) {
  const { words, host, port, out, json } = cli.parse();
  const [verb = "list", name] = words;
  if (!(verb === "list" && !name) && !(verb === "get" && name))
    usageError(`say "list", or "get NAME" (got "${words.join(" ")}")`, cli.usage);
  const local = port === undefined ? startGetServer({ port: 0 }) : undefined;
  if (local) console.error(`no --port: started lesson 02's server on 127.0.0.1:${local.tcp.port}`);
  try {
    const channel = await Channel.open(host, port ?? local?.tcp.port ?? 0);
    const result = name ? await getFile(channel, name, out) : await channel.list();
    channel.close();
    console.log(json ? JSON.stringify(name ? result : { files: result }) : show(result));
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    fail(error.message);
  } finally {
    local?.stop();
  }
}
