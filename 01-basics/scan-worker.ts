/**
 * One scanning thread of lesson 06 (port scan). `probePorts` takes ports from a queue in
 * shared memory and connects, at most `concurrency` at once, writing what each port answered
 * back into shared memory. `scanPorts` runs it right here for one thread, or starts this file
 * as a Worker once per core and posts each its share of the job; a Worker posts `null` when
 * the queue is empty and its own connects have been answered or given up on (or, if it could
 * not open a socket, the sentence that says so).
 */
import type { Socket, SocketHandler } from "bun";

type Ends = Pick<Socket, "localAddress" | "localPort" | "remoteAddress" | "remotePort">;
/** Both ends are one socket: the kernel made our source port the target port (self-connect). */
export const isSelfConnect = (ends: Ends): boolean =>
  ends.localPort === ends.remotePort && ends.localAddress === ends.remoteAddress;

/** What a port answered, one byte per port in `state` (0: no answer yet). */
export const Answer = { OPEN: 1, CLOSED: 2, SELF_CONNECT: 3, FILTERED: 4 } as const;
/** Where in `counters`: the next port index nobody has taken, and how many ports are done. */
export const [NEXT, DONE] = [0, 1];

/** One thread's part of a scan; the arrays are on SharedArrayBuffers, seen by every thread. */
export interface ProbeJob {
  hostname: string;
  ports: Uint16Array;
  state: Uint8Array;
  counters: Int32Array;
  concurrency: number;
  timeoutMs: number;
}

/** Connects to ports from the shared queue, at most `concurrency` at once, until none is left. */
export function probePorts(job: ProbeJob): Promise<void> {
  const { hostname, ports, state, counters, concurrency, timeoutMs } = job;
  const inFlight = new Map<number, number>(); // port index → when its connect started
  const { promise: finished, resolve: finish, reject: fail } = Promise.withResolvers<void>();
  let connecting = -1; // the port index whose Bun.connect call is running right now
  let noSocket = false; // a connect found no socket to be had: this thread stops
  const settle = (index: number, answer: number): void => {
    if (!inFlight.delete(index)) return; // a late answer for a port already called filtered
    state[index] = answer;
    Atomics.add(counters, DONE, 1);
    launch();
  };
  const probe: SocketHandler<number> = {
    open(socket) {
      settle(socket.data, isSelfConnect(socket) ? Answer.SELF_CONNECT : Answer.OPEN);
      socket.terminate(); // a reset, not a polite close: we have nothing to say
    },
    connectError(socket, error: NodeJS.ErrnoException) {
      // A port's answer comes later, from the event loop. A failure while Bun.connect still
      // runs means no SYN left at all: no socket to be had (Bun says ECONNREFUSED even then).
      if (socket.data === connecting) return void (noSocket = true);
      const refused = error.code === "ECONNREFUSED"; // a reset came back; else: no route
      settle(socket.data, refused ? Answer.CLOSED : Answer.FILTERED);
    },
    data() {},
  };
  // One options object for every connect (Bun reads it during the call). With `connectError`
  // set, a failed connect's promise rejects quietly: it needs no .catch, one promise less.
  const options = { hostname, port: 0, data: 0, socket: probe };
  function launch(): void {
    while (inFlight.size < concurrency && !noSocket) {
      const index = Atomics.add(counters, NEXT, 1); // take a port: no other thread gets it
      if (index >= ports.length) break;
      inFlight.set(index, performance.now());
      options.port = ports[index]!;
      options.data = index;
      connecting = index;
      void Bun.connect(options);
      connecting = -1;
    }
    if (inFlight.size > 0 && !noSocket) return;
    clearInterval(sweeper);
    if (!noSocket) return finish();
    fail(new Error("could not open a socket: give a smaller --concurrency, or raise ulimit -n."));
  }
  // A connect cannot be cancelled: past the timeout we call the port filtered and move on.
  const sweeper = setInterval(
    () => {
      const tooOld = performance.now() - timeoutMs;
      for (const [index, startedAt] of inFlight)
        if (startedAt < tooOld) settle(index, Answer.FILTERED);
    },
    Math.min(100, timeoutMs / 4),
  );
  launch();
  return finished;
}

declare const self: Worker;
if (!Bun.isMainThread) {
  // Started as a Worker: scan our share of the job, then say so.
  self.onmessage = async ({ data: job }: MessageEvent<ProbeJob>) => {
    const failure = await probePorts(job).then(
      () => null,
      (error: Error) => error.message,
    );
    self.postMessage(failure); // null: done
  };
}
