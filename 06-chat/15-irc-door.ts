/**
 * @title IRC door
 * @summary Real IRC clients (irssi, HexChat, Python's irc) in the chat, with the same accounts: RFC 2812 on one side, the chat's lines on the other, and neither side can make the door hoard.
 * @run bun run 06-chat/15-irc-door.ts [--host 127.0.0.1] [--port 6667] [--chat-host 127.0.0.1] [--chat-port PORT] [--idle 300]
 * @python new
 * @serves tcp "PING probe\r\n" -> /PONG/
 * @limits idle --idle · memory 150 MiB
 *
 * `irssi -c 127.0.0.1 -w secret -n alice`, then `/join #chat`: alice chats with the terminal
 * and web users, privately too. A door is two connections and a dictionary: an IrcClient
 * (irc.ts) reads IRC and says what each command means in the chat's words, a ChatConnection
 * (connection.ts) reads the chat; this page joins them. It must not become a store: while the
 * IRC client reads slowly the door stops reading the chat, and while the chat is behind it
 * stops reading the IRC client.
 */
import type { Socket } from "bun";
import { command, endpoint, flag, type Peer, serve } from "../lib/cli.ts";
import { startChat } from "./10-chat-server.ts";
import { ChatConnection } from "./connection.ts";
import { IRC_PORT, IrcClient } from "./irc.ts";
import { Mailbox } from "./mailbox.ts";
import type { ServerEvent } from "./protocol.ts";

/** The door on host:port: each IRC client that registers joins the chat at `chat`. */
export function startIrcDoor(host: string, port: number, chat: Peer, idleMs = 300_000) {
  return Bun.listen<IrcClient | undefined>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        socket.data = door(socket, chat, idleMs);
      },
      data: (socket, chunk) => socket.data?.read(chunk),
      drain: (socket) => socket.data?.drained(),
      close: (socket) => socket.data?.close(),
      error: () => {},
    },
  });
}

/** One IRC client, and its chat connection once it has registered: what a door carries. */
function door(socket: Socket<IrcClient | undefined>, at: Peer, idleMs: number): IrcClient {
  let chat: ChatConnection | undefined;
  let chatHeld = false;

  /** Backpressure both ways, after each batch of lines and each drain. */
  function balance(): void {
    // Chat to IRC: while the client's lines pile up, read nothing from the chat.
    const full = irc.outbox.full;
    if (chat && full !== chatHeld) {
      if (full) chat.outbox.hold();
      else chat.outbox.release();
      chatHeld = full;
    }
    // IRC to chat: while the chat's lines pile up, read nothing from the client.
    irc.wait(chat?.outbox.full === true);
  }

  /** The client registered: its login, whose OK and every event after go to its session. */
  function login(nick: string, password: string): void {
    const handlers = {
      onEvent: (event: ServerEvent, connection: ChatConnection) => {
        chat = connection;
        // A client gone during the login: its chat connection goes too, unread.
        if (irc.closed) connection.outbox.end();
        else irc.session.hearChat(event);
      },
      onDrain: balance,
      onClose: () => irc.close("the chat server closed the connection"),
    };
    const nobody = `no chat server at ${endpoint(at.host, at.port)}`;
    void ChatConnection.open(at.host, at.port, nick, password, handlers)
      .catch((error: Error) => irc.session.refused(error, nobody))
      .finally(balance);
  }

  const irc: IrcClient = new IrcClient(socket, idleMs, {
    toChat: (line) => chat?.send(line),
    ack: (id) => chat?.ack(id),
    login,
    balance,
    // The client closed, or is gone: the chat connection ends once what waits is written.
    close: () => {
      if (chatHeld) chat?.outbox.release();
      chat?.outbox.end();
    },
  });
  return irc;
}

const cli = command("06-chat/15-irc-door.ts", "Lets IRC clients into the chat.", {
  host: flag.listen("127.0.0.1"),
  port: flag.port(IRC_PORT, "port to listen on for IRC clients; 0 takes any free port"),
  "chat-host": flag.host("127.0.0.1", "the chat server's host, used with --chat-port"),
  "chat-port": flag.port(undefined, "its port; none or 0: a chat server in this process"),
  idle: flag.decimal(300, "seconds of silence before a PING, and again before the close", {
    min: 0.1,
  }),
});

if (import.meta.main) {
  const { host, port, "chat-host": chatHost, "chat-port": chatPort, idle } = cli.parse();
  // No chat server given: one in this process (accounts in memory), so the door works alone.
  const local = chatPort ? undefined : startChat("127.0.0.1", 0, new Mailbox(":memory:"));
  const chat = { host: local ? "127.0.0.1" : chatHost, port: local?.tcp.port ?? chatPort ?? 0 };
  if (local) console.log(`no --chat-port: started 06-chat/10-chat-server.ts on port ${chat.port}`);
  const start = () => {
    const door = startIrcDoor(host, port, chat, idle * 1000);
    const stop = (): void => {
      door.stop(true);
      local?.stop();
    };
    return { tcp: door, stop };
  };
  const hint = "try  irssi -c HOST -p PORT -w PASSWORD -n NICK, then /join #chat";
  await serve(host, port, start, hint);
}
