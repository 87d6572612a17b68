/**
 * One scanning thread of lesson 08 (the same scan on every core): lesson 07's loop, except
 * that the next port comes from a queue in shared memory, and the answers go back into it.
 * Lesson 08 starts this file as a Worker once per core. Loaded, it says "ready"; posted a
 * job, it scans until the queue is empty and says "done", or "no socket" if a connect could
 * not even start. `probeShared` runs on any thread: the tests run two on one queue.
 */
import type { Socket, SocketHandler } from "bun";

/** What a port answered, one byte per port in `state` (0: no answer yet). */
export const ANSWER = { open: 1, closed: 2, "self-connect": 3, filtered: 4 } as const;
/** Where in `counters`: the next port index nobody has taken, and how many ports are done. */
export const NEXT = 0;
export const DONE = 1;

/** One thread's part of a scan; the arrays live on SharedArrayBuffers every thread sees. */
export interface ThreadJob {
  address: string;
  ports: Uint16Array;
  state: Uint8Array;
  counters: Int32Array;
  /** This thread's share of the bound on connects in flight. */
  concurrency: number;
  timeoutMs: number;
}

export type ThreadResult = "done" | "no socket";

/** Connects to ports from the shared queue, at most `concurrency` at once, until none is left. */
export function probeShared(job: ThreadJob): Promise<ThreadResult> {
  const { address, ports, state, counters, concurrency, timeoutMs } = job;
  // The connects in flight: port index -> when it started.
  const inFlight = new Map<number, number>();
  const { promise, resolve } = Promise.withResolvers<ThreadResult>();
  let launching = -1;
  let noSocket = false;
  const handlers: SocketHandler<number> = {
    open(socket) {
      settle(socket.data, isSelfConnect(socket) ? ANSWER["self-connect"] : ANSWER.open);
      socket.terminate();
    },
    connectError(socket, error) {
      // Before Bun.connect returns: no SYN left, so no answer; lesson 08 says why.
      if (socket.data === launching) noSocket = true;
      else if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED")
        settle(socket.data, ANSWER.closed);
      else settle(socket.data, ANSWER.filtered);
    },
    data() {},
  };
  // One options object and one set of handlers for every connect: Bun reads them during the
  // call. With `connectError` set, a refused connect's promise rejects quietly: no .catch.
  const options = { hostname: address, port: 0, data: 0, socket: handlers };
  function launch(): void {
    while (inFlight.size < concurrency && !noSocket) {
      // Take the next port: Atomics.add hands each index to exactly one thread.
      const index = Atomics.add(counters, NEXT, 1);
      if (index >= ports.length) break;
      inFlight.set(index, performance.now());
      options.port = ports[index] ?? 0;
      options.data = index;
      launching = index;
      void Bun.connect(options);
      launching = -1;
    }
    if (inFlight.size > 0 && !noSocket) return;
    clearInterval(sweeper);
    resolve(noSocket ? "no socket" : "done");
  }
  // An answer frees a place for the next port; a late one (the port is filtered) does not.
  function settle(index: number, answer: number): void {
    if (!inFlight.delete(index)) return;
    state[index] = answer;
    Atomics.add(counters, DONE, 1);
    launch();
  }
  // A connect cannot be called off: past the timeout the port is filtered, and we move on.
  const sweeper = setInterval(
    () => {
      const tooOld = performance.now() - timeoutMs;
      for (const [index, startedAt] of inFlight) {
        if (startedAt < tooOld) settle(index, ANSWER.filtered);
      }
    },
    Math.min(100, timeoutMs / 4),
  );
  launch();
  return promise;
}

type Ends = "localAddress" | "localPort" | "remoteAddress" | "remotePort";
const isSelfConnect = (ends: Pick<Socket, Ends>): boolean =>
  ends.localPort === ends.remotePort && ends.localAddress === ends.remoteAddress;

declare const self: Worker;
if (!Bun.isMainThread) {
  self.onmessage = async (event: MessageEvent<ThreadJob>) => {
    self.postMessage(await probeShared(event.data));
  };
  self.postMessage("ready");
}
