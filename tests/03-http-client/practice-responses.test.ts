// practice-responses.ts: the bytes the hand-made practice servers send (lessons 08 and 09),
// and how they read a request's head. Each response frames its body as it claims to.
import { describe, expect, test } from "bun:test";
import { ResponseParser } from "../../03-http-client/http-response.ts";
import {
  HEAD_TOO_LONG,
  largeAnswer,
  largeBody,
  MAX_LARGE_BYTES,
  pathOf,
  RAW_PATHS,
  RAW_RESPONSES,
  rawResponse,
  RequestHead,
  STALLED,
} from "../../03-http-client/practice-responses.ts";

/** What the chapter's parser makes of `text`, sent as a GET's answer and then closed. */
function parse(text: string, method = "GET") {
  const body: Buffer[] = [];
  const parser = new ResponseParser(method, (bytes) => body.push(bytes));
  parser.push(Buffer.from(text, "latin1"));
  return { parser, body: Buffer.concat(body).toString("latin1") };
}

describe("practice-responses.ts: the practice servers' bytes, as data", () => {
  test("the hand-written correct responses frame their bodies exactly", () => {
    for (const path of ["/early-hints", "/trailers"]) {
      const { parser } = parse((RAW_RESPONSES[path] ?? []).join(""));
      expect({ path, done: parser.done }).toEqual({ path, done: true });
    }
    expect(RAW_PATHS).toContain("/broken/stall");
    expect(RAW_PATHS).toHaveLength(10);
    expect(STALLED).toBe(rawResponse("/broken/stall"));
    expect(rawResponse("/nothing-here")[0]).toStartWith("HTTP/1.1 404 Not Found\r\n");
    expect(parse(rawResponse("/nothing-here").join("")).body).toBe(
      "no such path: try /trailers\r\n",
    );
    expect(HEAD_TOO_LONG).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
  });

  test("RequestHead: the request line once the empty line ends the head, however it is split", () => {
    const head = new RequestHead();
    const pieces = ["GET /tr", "ailers?x=1 HTTP/1.1\r", "\nHost: practice\r\n", "\r\nextra"];
    const seen = pieces.map((piece) => head.push(Buffer.from(piece)));
    expect(seen).toEqual([undefined, undefined, undefined, "GET /trailers?x=1 HTTP/1.1"]);
    expect(pathOf("GET /trailers?x=1 HTTP/1.1")).toBe("/trailers");
    expect(pathOf("nonsense")).toBe("");
    const endless = new RequestHead();
    expect(endless.push(Buffer.from(`GET /${"a".repeat(9000)}`))).toBeUndefined();
    expect(endless.tooLong).toBe(true);
  });

  test("largeAnswer: the head with its Content-Length; HEAD has no body; 400 and 404 whole", () => {
    const answer = largeAnswer("GET /large?bytes=300 HTTP/1.1");
    expect(answer.bodyBytes).toBe(300);
    expect(answer.head).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 300\r\n\r\n",
    );
    expect(largeAnswer("GET /large HTTP/1.1").bodyBytes).toBe(5 * 1024 * 1024);
    expect(largeAnswer("HEAD /large?bytes=300 HTTP/1.1")).toEqual({
      head: answer.head,
      bodyBytes: 0,
    });
    for (const [line, status, text] of [
      [`GET /large?bytes=${MAX_LARGE_BYTES + 1} HTTP/1.1`, 400, "?bytes= takes 0 to 268435456\n"],
      ["GET /large?bytes=-1 HTTP/1.1", 400, "?bytes= takes 0 to 268435456\n"],
      ["GET /small HTTP/1.1", 404, "only /large?bytes=N\n"],
    ] as const) {
      const whole = largeAnswer(line);
      const { parser, body } = parse(whole.head);
      expect({ line, bodyBytes: whole.bodyBytes, status: parser.head?.status, body }).toEqual({
        line,
        bodyBytes: 0,
        status,
        body: text,
      });
    }
  });

  test("largeBody: numbered 64-byte lines, the same however it is cut into pieces", () => {
    expect(largeBody(0, 130).toString()).toBe(
      `line 0000000000 ${".".repeat(47)}\nline 0000000001 ${".".repeat(47)}\nli`,
    );
    const whole = largeBody(0, 10_000);
    expect(Buffer.concat([largeBody(0, 3000), largeBody(3000, 7000)]).equals(whole)).toBe(true);
    expect(largeBody(6400, 16).toString()).toBe("line 0000000100 ");
  });
});
