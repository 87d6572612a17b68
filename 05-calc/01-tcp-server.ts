/**
 * @title TCP calculator server
 * @summary Answer one calculation per line over TCP: `12 + 30` in, `OK 42` out, every error a reply.
 * @run bun run 05-calc/01-tcp-server.ts [--host 127.0.0.1] [--port 65432] [--idle 60]
 * @python tcp/server_calc.py
 * @serves tcp "12 + 30\n" -> "OK 42\n"
 * @limits idle --idle · memory 100 MiB
 *
 * Talk to it with `nc 127.0.0.1 65432`: each line you type gets one line back, `OK 42` or
 * `ERR division-by-zero: cannot divide by zero`. The Python lab trusted one `recv(1024)` to
 * hold one request; TCP is a byte stream, so `serveLines` (lib/lines.ts, 04-server's guard
 * lessons in one) cuts it into lines, answers them in order, sheds idle clients and stops
 * reading one that reads nothing. What is left is the protocol. One thread serves every
 * client, so `isprime` of a big prime gets `ERR too-heavy` (lesson 06 shows what it costs).
 */
import { command, flag, serve } from "../lib/cli.ts";
import { serveLines } from "../lib/lines.ts";
import { answer, LINE_TOO_LONG, MAX_LINE_BYTES, QUICK_DIVISOR, TCP_PORT } from "./protocol.ts";

export function startTcpServer({ host = "127.0.0.1", port = TCP_PORT, idle = 60, log = print }) {
  return serveLines({
    host,
    port,
    maxLineBytes: MAX_LINE_BYTES,
    idleSeconds: idle,
    // Every line gets one reply, a bad one too: only quick work on the one thread.
    line: (client, line) => client.send(`${answer(line, QUICK_DIVISOR)}\n`),
    // Past 1024 bytes the next request's start is lost: say why, then close.
    tooLong: (client) => client.end(LINE_TOO_LONG),
    close: (client, why) => log(`${client.peer}: ${client.lines} request(s); closed (${why})`),
  });
}

const print = (line: string): void => console.log(line);

const cli = command("05-calc/01-tcp-server.ts", "The TCP calculator: one calculation a line.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(TCP_PORT, "port to listen on; 0 takes any free port"),
  idle: flag.decimal(60, "close a client idle this many seconds", { min: 0.1, max: 86_400 }),
});

if (import.meta.main) {
  const options = cli.parse();
  const start = () => startTcpServer(options);
  await serve(options.host, options.port, start, "try  nc HOST PORT  and type 12 + 30");
}
