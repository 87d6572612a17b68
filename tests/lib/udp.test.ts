// lib/udp.ts: ask() resends on silence and trusts only its server's reply; ReplyGuard
// refuses every datagram a UDP server must not answer.
import { describe, expect, test } from "bun:test";
import { ask, ReplyGuard } from "../../lib/udp.ts";
import { canUsePrivateNetwork, PRIVATE_NETWORK, ROOT } from "../helpers.ts";

const privateNetwork = await canUsePrivateNetwork();

/** A UDP server of ours: `answer` decides what (if anything) each datagram gets. */
async function udpServer(answer: (datagram: Buffer, count: number) => string | undefined) {
  let count = 0;
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(server, datagram, port, address) {
        count++;
        const reply = answer(Buffer.from(datagram), count);
        if (reply !== undefined) server.send(reply, port, address);
      },
      error() {},
    },
  });
  return {
    port: socket.port,
    get count() {
      return count;
    },
    [Symbol.dispose]: () => socket.close(),
  };
}

describe("ask(): a UDP request, resent on silence", () => {
  test("the first try answered: attempt 1, the reply, the time it came", async () => {
    using server = await udpServer((datagram) => `re: ${datagram}`);
    const before = Date.now();
    const answer = await ask("127.0.0.1", server.port, "hello");
    expect(answer.reply.toString()).toBe("re: hello");
    expect(answer.attempt).toBe(1);
    expect(answer.address).toBe("127.0.0.1");
    expect(answer.receivedAt).toBeGreaterThanOrEqual(before);
  });

  test("a server that drops the first two datagrams is answered on the third try", async () => {
    using server = await udpServer((_datagram, count) => (count < 3 ? undefined : "at last"));
    const answer = await ask("127.0.0.1", server.port, "hello", { timeoutMs: 100, attempts: 4 });
    expect(answer.attempt).toBe(3);
    expect(server.count).toBe(3);
  });

  test("a request may be built anew for each try; accept() skips replies that are not ours", async () => {
    using server = await udpServer(
      (datagram) => `stale\n${datagram}`.split("\n")[datagram.length % 2],
    );
    const answer = await ask("127.0.0.1", server.port, (attempt) => `try ${attempt}`, {
      timeoutMs: 100,
      accept: (reply, attempt) => reply.toString() === `try ${attempt}`,
    });
    expect(answer.reply.toString()).toMatch(/^try \d$/);
  });

  test("silence every time: ETIMEDOUT after the last try", async () => {
    using server = await udpServer(() => undefined);
    const error = await ask("127.0.0.1", server.port, "x", { timeoutMs: 50, attempts: 3 }).catch(
      (caught) => caught,
    );
    expect((error as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
    expect(server.count).toBe(3);
  });

  test("nothing listens: ECONNREFUSED at once (the kernel's port unreachable), not a timeout", async () => {
    const probe = await Bun.udpSocket({ hostname: "127.0.0.1" });
    const { port } = probe;
    probe.close();
    const started = performance.now();
    const error = await ask("127.0.0.1", port, "x", { timeoutMs: 2_000 }).catch((caught) => caught);
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test.skipIf(!privateNetwork)(
    "no route: the error says ENETUNREACH (needs a private network namespace)",
    async () => {
      const script = `import { ask } from "${ROOT}/lib/udp.ts";
console.log((await ask("10.1.2.3", 123, "x").catch((error) => error)).code);`;
      const child = Bun.spawn([...PRIVATE_NETWORK, "bun", "-e", script], {
        stdout: "pipe",
        cwd: ROOT,
      });
      expect((await new Response(child.stdout).text()).trim()).toBe("ENETUNREACH");
      expect(await child.exited).toBe(0);
    },
  );
});

// The guarded server's own port: nothing binds it, the guard only compares with it.
const OWN_PORT = 7007;

describe("ReplyGuard: the datagrams a server never answers", () => {
  const request = Buffer.from("a request of some length\n");
  const guard = () => new ReplyGuard({ port: OWN_PORT });

  test("an ordinary client is answered", () => {
    expect(guard().allows("127.0.0.1", 40000, request, "a reply\n")).toBe(true);
  });

  test("refusal() says why, and counts it like allows()", () => {
    const check = guard();
    expect(check.refusal("127.0.0.1", 40000, request, "a reply\n")).toBeUndefined();
    expect(check.refusal("127.0.0.1", OWN_PORT, request, "x")).toBe("own address");
    expect(check.refusal("127.0.0.1", 19, request, "x")).toBe("service port");
    expect(check.refusedTotal).toBe(2);
  });

  test("its own address and port: refused (the loop with itself)", () => {
    const own = guard();
    expect(own.allows("127.0.0.1", OWN_PORT, request, "x")).toBe(false);
    expect(own.allows("127.0.0.9", OWN_PORT, request, "x")).toBe(false);
    expect(own.allows("::1", OWN_PORT, request, "x")).toBe(false);
    expect(own.refused["own address"]).toBe(3);
    // The same port on another machine is somebody else: answered.
    expect(own.allows("198.51.100.7", OWN_PORT, request, "x")).toBe(true);
  });

  test("sources no client can have: port 0, broadcast, multicast, unspecified", () => {
    const check = guard();
    for (const [address, port] of [
      ["127.0.0.1", 0],
      ["255.255.255.255", 5000],
      ["224.0.0.1", 5000],
      ["239.1.2.3", 5000],
      ["ff02::1", 5000],
      ["0.0.0.0", 5000],
    ] as const)
      expect({ address, port, allowed: check.allows(address, port, request, "x") }).toEqual({
        address,
        port,
        allowed: false,
      });
    expect(check.refused["bad source"]).toBe(6);
  });

  test("the ports of services that answer anything (echo, daytime, quote, chargen, time): refused", () => {
    const check = guard();
    for (const port of [7, 13, 17, 19, 37])
      expect(check.allows("127.0.0.1", port, request, "x")).toBe(false);
    expect(check.refused["service port"]).toBe(5);
    expect(check.allows("127.0.0.1", 123, request, "x")).toBe(true);
  });

  test("a reply bigger than its request: refused (no amplification)", () => {
    const check = guard();
    expect(check.allows("127.0.0.1", 40000, Buffer.alloc(0), "x")).toBe(false);
    expect(check.allows("127.0.0.1", 40000, Buffer.from("ab"), "abc")).toBe(false);
    expect(check.allows("127.0.0.1", 40000, Buffer.from("abc"), "abc")).toBe(true);
    expect(check.refused.bigger).toBe(2);
  });

  test("our own reply bounced back by an echo: refused, so two servers cannot ping-pong", () => {
    const check = guard();
    const reply = Buffer.from("server received: hello");
    expect(check.allows("127.0.0.1", 40000, Buffer.alloc(64), reply)).toBe(true);
    expect(check.allows("127.0.0.1", 40000, reply, reply)).toBe(false);
    expect(check.refused.echoed).toBe(1);
  });

  test("one source gets `burst` replies at once, then `perSecond`; another source is not affected", () => {
    const check = new ReplyGuard({ port: OWN_PORT }, { perSecond: 10, burst: 5 });
    const answered = Array.from({ length: 20 }, () =>
      check.allows("127.0.0.1", 40000, request, "x"),
    ).filter(Boolean);
    expect(answered.length).toBe(5);
    expect(check.refused.rate).toBe(15);
    expect(check.allows("127.0.0.1", 40001, request, "x")).toBe(true);
    expect(check.refusedTotal).toBe(15);
  });

  test("it remembers at most maxPeers sources, forgetting the least recent", () => {
    const check = new ReplyGuard({ port: OWN_PORT }, { perSecond: 1, burst: 1, maxPeers: 2 });
    expect(check.allows("127.0.0.1", 1001, request, "x")).toBe(true);
    expect(check.allows("127.0.0.1", 1002, request, "x")).toBe(true);
    expect(check.allows("127.0.0.1", 1003, request, "x")).toBe(true);
    // 1001 was forgotten, so its bucket is full again; 1003 is remembered and empty.
    expect(check.allows("127.0.0.1", 1001, request, "x")).toBe(true);
    expect(check.allows("127.0.0.1", 1003, request, "x")).toBe(false);
  });
});
