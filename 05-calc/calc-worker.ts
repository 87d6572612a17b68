/**
 * The worker side of the pools of lessons 07 and 08: a thread of its own that answers one
 * request line at a time with the same `answer()` as every server. It says "ready" once
 * loaded, so lesson 08 starts a request's time limit only when a worker can really begin it.
 */
import { answer } from "./protocol.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<unknown>) => {
  self.postMessage(answer(typeof event.data === "string" ? event.data : ""));
};
self.postMessage("ready");
