// Lesson 01, bind: port 0 gets a real port, a second bind of it fails with one sentence, the
// port is held until Ctrl-C and free again after; an address of another machine is refused.
import { describe, expect, test } from "bun:test";
import { bindAgain, bindPort, whoCanConnect } from "../../04-server/01-bind.ts";
import { endpoint, whyListenFailed } from "../../lib/cli.ts";
import { attack } from "../hostile/servers.ts";
import { inUse, runLesson, startLesson, TcpTestClient, tracker } from "../helpers.ts";
import { serverConventions } from "./conventions.ts";

const track = tracker();
const FILE = "04-server/01-bind.ts";

serverConventions(FILE);

describe("01-bind in-process", () => {
  test("endpoint() brackets IPv6 addresses, so the port stays apart", () => {
    expect(endpoint("127.0.0.1", 5000)).toBe("127.0.0.1:5000");
    expect(endpoint("::1", 5000)).toBe("[::1]:5000");
  });

  test("port 0 gets a real port from the kernel, and a second bind of it fails", () => {
    const listener = track(bindPort("127.0.0.1", 0));
    expect(listener.port).toBeGreaterThan(0);
    expect(bindAgain("127.0.0.1", listener.port)).toBe(inUse(listener.port));
  });

  test("the sentence for a failed bind: one per cause, with what to do", () => {
    const error = (code: string) => Object.assign(new Error("Failed to listen"), { code });
    expect(whyListenFailed(error("EADDRNOTAVAIL"), "192.0.2.1", 80)).toBe(
      "192.0.2.1 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses",
    );
    expect(whyListenFailed(error("EACCES"), "127.0.0.1", 80)).toStartWith(
      "port 80 is below 1024 and needs administrator rights",
    );
    expect(whyListenFailed(error("EWHATEVER"), "::1", 9)).toBe(
      "could not listen on [::1]:9 (EWHATEVER): check --host and --port",
    );
  });

  test("who can connect, by the address bound", () => {
    expect(whoCanConnect("127.0.0.1")).toBe("loopback: only this machine can connect");
    expect(whoCanConnect("::1")).toBe("loopback: only this machine can connect");
    expect(whoCanConnect("0.0.0.0")).toStartWith("every interface");
    expect(whoCanConnect("192.0.2.7")).toBe("only connections made to 192.0.2.7 arrive here");
  });
});

describe("01-bind as a student runs it", () => {
  test("binds, shows the kernel's choice and the failed second bind, holds the port", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    await lesson.waitFor(/run this again in another terminal to see the error\n/);
    expect(lesson.stdout).toContain(
      `try  nc 127.0.0.1 ${port} (it hangs up at once); Ctrl-C stops`,
    );
    expect(lesson.stdout).toContain(`the kernel chose a free one: ${port}\n`);
    expect(lesson.stdout).toContain(`binding it a second time: ${inUse(port)}\n`);
    // While it runs, the port is taken for us too; a client is let in and hung up on.
    expect(bindAgain("127.0.0.1", port)).toBe(inUse(port));
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    const result = await lesson.stop();
    expect(result.code).toBe(0);
    expect(bindAgain("127.0.0.1", port)).toBeNull();
  });

  test("with an address that is not this machine's: exit 1 and what to do", async () => {
    const result = await runLesson(FILE, ["--host", "192.0.2.1", "--port", "0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "192.0.2.1 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses\n",
    );
  });

  test("300 clients that reset at once: still holding the port, nothing on stderr", async () => {
    await using lesson = startLesson(FILE, ["--port", "0"]);
    const { port } = await lesson.listening("tcp");
    expect((await attack(["resets", "127.0.0.1", port, 300])).reset).toBe(300);
    await using client = await TcpTestClient.connect(port);
    await client.whenClosed;
    const result = await lesson.stop();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
