/**
 * @title Web client
 * @summary The chat in a browser: Bun.serve hands out one page and joins each of its WebSockets to a TCP connection to the chat server, pushing back both ways.
 * @run bun run 06-chat/14-web-client.ts [--host 127.0.0.1] [--port 5080] [--chat-host 127.0.0.1] [--chat-port PORT] [--idle 60]
 * @python ClienteTCP.py
 * @serves tcp "GET / HTTP/1.1\r\nHost: chat\r\n\r\n" -> "HTTP/1.1 200"
 * @limits idle --idle · memory 150 MiB · drip 15 s
 *
 * Open http://127.0.0.1:5080/ in two tabs and log in. The page (web/) speaks the chat's own
 * lines, one WebSocket message each; this bridge carries them over TCP to the chat server
 * and back. A bridge must not become a store: while the browser reads slowly (`ws.send()`
 * says -1) it stops reading the chat server until `drain`, and while the chat server is
 * behind it pauses the WebSocket. The page shows text with textContent, never as HTML.
 */
import type { ServerWebSocket, Socket } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { command, connect, flag, type Peer, serve, whyConnectFailed } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";
import { startChat } from "./10-chat-server.ts";
import { Mailbox } from "./mailbox.ts";
import { MAX_LINE_BYTES } from "./protocol.ts";

/** The page on host:port; each WebSocket at /chat becomes a TCP connection to `chat`. */
export function startWebBridge(host: string, port: number, chat: Peer, idle = 60) {
  return Bun.serve<Bridge>({
    hostname: host,
    port,
    idleTimeout: idle,
    routes: {
      "/": page("index.html", "text/html"),
      "/chat.js": page("chat.js", "text/javascript"),
      "/chat.css": page("chat.css", "text/css"),
    },
    fetch(request, server) {
      // Only this page may open the bridge: another site's script would chat as its visitor.
      const origin = request.headers.get("origin");
      if (origin !== null && origin !== `http://${request.headers.get("host")}`)
        return new Response("only the chat's own page may open /chat\n", { status: 403 });
      const upgrade = new URL(request.url).pathname === "/chat";
      if (upgrade && server.upgrade(request, { data: new Bridge(chat) })) return undefined;
      const why = upgrade ? "/chat is the page's WebSocket" : "no such page";
      return new Response(`${why}: open / in a browser\n`, { status: upgrade ? 426 : 404 });
    },
    websocket: {
      // One message is one chat line: at most as long as the chat takes one.
      maxPayloadLength: MAX_LINE_BYTES,
      idleTimeout: idle,
      open: (ws) => ws.data.open(ws),
      message: (ws, message) => ws.data.toChat(ws, message),
      drain: (ws) => ws.data.browserDrained(),
      close: (ws) => ws.data.close(),
    },
  });
}

/** One browser's WebSocket, and its TCP connection to the chat server. */
class Bridge {
  private outbox: Outbox | undefined;
  private readonly lines = new LineReader(MAX_LINE_BYTES);
  /** Reading from the chat server is stopped while the browser is behind. */
  private held = false;
  private closed = false;

  constructor(private readonly chat: Peer) {}

  async open(ws: ServerWebSocket<Bridge>): Promise<void> {
    // Nothing is read from the browser until the chat server is there to take it.
    ws.pause();
    const handlers = {
      data: (_socket: Socket<undefined>, chunk: Buffer) => this.toBrowser(ws, chunk),
      drain: () => this.chatDrained(ws),
      close: () => ws.close(1011, "the chat server closed the connection"),
      error: () => {},
    };
    try {
      const tcp = await connect(this.chat.host, this.chat.port, handlers);
      this.outbox = new Outbox(tcp, { highWater: 256 * 1024 });
      if (this.closed) this.outbox.end();
      else ws.resume();
    } catch (error) {
      const why = await whyConnectFailed(error, this.chat.host, this.chat.port);
      // The page shows the reason (123 bytes at most), with this lesson's flags in it.
      ws.close(1011, why.replace("--host and --port", "--chat-port").slice(0, 120));
    }
  }

  /** Chat server to browser: a line a message, sent together (cork); hold on backpressure. */
  private toBrowser(ws: ServerWebSocket<Bridge>, chunk: Buffer): void {
    ws.cork(() => {
      for (const line of this.lines.push(chunk)) {
        // -1: queued, but the browser is behind. Read no more from the chat until `drain`.
        if (ws.send(line) === -1 && !this.held) {
          this.held = true;
          this.outbox?.hold();
        }
      }
    });
    if (this.lines.tooLong) ws.close(1011, "the chat server sent a line too long");
  }

  /** Browser to chat server: one text message is one line. Pause the browser if it waits. */
  toChat(ws: ServerWebSocket<Bridge>, message: string | Buffer): void {
    if (typeof message !== "string" || /[\r\n]/.test(message)) {
      ws.close(1003, "one line of text per message");
      return;
    }
    this.outbox?.send(`${message}\n`);
    // After the outbox's own flush (queued first): pause only if bytes are really left.
    queueMicrotask(() => {
      if (this.outbox?.full) ws.pause();
    });
  }

  /** The chat server took what waited: the browser may talk again. */
  private chatDrained(ws: ServerWebSocket<Bridge>): void {
    this.outbox?.flush();
    if (!this.outbox?.full) ws.resume();
  }

  /** The browser caught up: read the chat server again. */
  browserDrained(): void {
    if (!this.held) return;
    this.held = false;
    this.outbox?.release();
  }

  /** The browser left: the chat server sees the connection end, after what was said. */
  close(): void {
    this.closed = true;
    if (this.held) this.outbox?.release();
    this.outbox?.end();
  }
}

/**
 * A file of web/, read once into a Response: held in memory it costs nothing per request,
 * where `new Response(Bun.file(...))` took 300 MiB under the battery's flood of requests that
 * never read. Scripts, styles and sockets from this server only: no CDN, nothing inline.
 */
function page(name: string, type: string): Response {
  const headers = {
    "content-type": `${type}; charset=utf-8`,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'self'",
  };
  return new Response(readFileSync(join(import.meta.dir, "web", name)), { headers });
}

const cli = command("06-chat/14-web-client.ts", "Serves the chat's page and its bridge.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(5080, "port of the page and its WebSocket; 0 takes any free port"),
  "chat-host": flag.host("127.0.0.1", "the chat server's host, used with --chat-port"),
  "chat-port": flag.port(undefined, "its port; none or 0: a chat server in this process"),
  idle: flag.whole(60, "seconds an idle HTTP connection is kept", { min: 1, max: 255 }),
});

if (import.meta.main) {
  const { host, port, "chat-host": chatHost, "chat-port": chatPort, idle } = cli.parse();
  // No chat server given: one in this process (accounts in memory), so the page works alone.
  const local = chatPort ? undefined : startChat("127.0.0.1", 0, new Mailbox(":memory:"));
  const chat = { host: local ? "127.0.0.1" : chatHost, port: local?.tcp.port ?? chatPort ?? 0 };
  if (local) console.log(`no --chat-port: started 06-chat/10-chat-server.ts on port ${chat.port}`);
  const start = () => {
    const web = startWebBridge(host, port, chat, idle);
    const stop = (): void => {
      web.stop(true);
      local?.stop();
    };
    return { tcp: { port: web.port ?? port }, stop };
  };
  await serve(host, port, start, "open http://HOST:PORT/ in a browser");
}
