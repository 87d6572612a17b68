/**
 * 05-calc/peers.ts, the load generator's connections: over TCP each reply goes to the oldest
 * waiting request, and a silent server gives every waiting request null at once; over UDP a
 * reply counts only for the id still waiting, so a late or unknown one is never taken.
 */
import { expect, test } from "bun:test";
import { startUdpServer } from "../../05-calc/04-udp-server.ts";
import { startTcpServer } from "../../05-calc/01-tcp-server.ts";
import { tcpPeer, udpPeer } from "../../05-calc/peers.ts";
import { tracker } from "../helpers.ts";

const track = tracker();
const quiet = (): void => {};

test("tcpPeer: requests in flight together, each resolved with its own reply", async () => {
  const server = track(startTcpServer({ port: 0, log: quiet }));
  const peer = await tcpPeer("127.0.0.1", server.tcp.port, 2_000);
  try {
    const replies = await Promise.all(["1 + 1", "2 * 3", "7 / 0"].map((line) => peer.ask(line)));
    expect(replies).toEqual(["OK 2", "OK 6", "ERR division-by-zero: cannot divide by zero"]);
  } finally {
    peer.close();
  }
});

test("tcpPeer: a server silent past the timeout gives every waiting request null", async () => {
  const mute = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const peer = await tcpPeer("127.0.0.1", mute.port, 100);
  const started = performance.now();
  expect(await Promise.all([peer.ask("1 + 1"), peer.ask("2 + 2")])).toEqual([null, null]);
  expect(performance.now() - started).toBeGreaterThanOrEqual(90);
});

test("udpPeer: each reply matched by its id, whatever the order", async () => {
  const server = await startUdpServer({ port: 0, log: quiet });
  track({ stop: () => server.stop() });
  const peer = await udpPeer("127.0.0.1", server.udp.port, 2_000);
  try {
    const replies = await Promise.all(["1 + 1", "2 * 3", "factor 12"].map((l) => peer.ask(l)));
    expect(replies).toEqual(["OK 2", "OK 6", "OK 2 2 3"]);
  } finally {
    peer.close();
  }
});

test("udpPeer: a reply with an id nobody waits for is not taken; a request unanswered is null", async () => {
  // A server that answers every datagram with a reply for some other id.
  const liar = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(socket, _datagram, port, address) {
        socket.send("not-yours OK 0\n", port, address);
      },
    },
  });
  const peer = await udpPeer("127.0.0.1", liar.port, 150);
  try {
    expect(await peer.ask("1 + 1")).toBeNull();
  } finally {
    peer.close();
    liar.close();
  }
});
