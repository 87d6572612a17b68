// lib/cli.ts: one flag table gives the parsing and the --help text; serve() gives the
// listening line, the "in use" sentence and a clean stop; the client side gives a connect
// with a time limit and one sentence for each way a connection or a look-up fails.
import { describe, expect, test } from "bun:test";
import {
  command,
  connect,
  endpoint,
  Explained,
  flag,
  isHostName,
  peerOrStart,
  startServer,
  timeoutError,
  whyConnectFailed,
  whyListenFailed,
  whyLookupFailed,
} from "../../lib/cli.ts";
import { silentPort } from "../fixtures/silent-port.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  hasCommand,
  inUse,
  PRIVATE_NETWORK,
  ROOT,
  runLesson,
  startLesson,
} from "../helpers.ts";

const FIXTURE = "tests/lib/fixtures/serve.ts";
const privateNetwork = await canUsePrivateNetwork();

/** A command for tests, with every kind of flag. */
const sample = () =>
  command(
    "04-server/01-bind.ts",
    "Does something worth a sentence.",
    {
      protocol: flag.choice(["tcp", "udp", "both"], "both", "which sockets to open"),
      host: flag.listen("127.0.0.1"),
      port: flag.port(7007, "port to listen on; 0 takes any free port"),
      peer: flag.host(undefined, "a host to reach"),
      timeout: flag.decimal(2, "seconds to wait", { min: 0.1, placeholder: "S" }),
      count: flag.whole(4, "how many", { min: 1, max: 100 }),
      check: flag.list("a HOST:PORT to try", "HOST:PORT", (text) => text),
      json: flag.bool("print one JSON document"),
    },
    { shown: "[NAME...]", help: "names to look up", max: 3 },
  );

/** Runs `parse(argv)` in a child process: parse exits on --help and on mistakes. */
async function parseInChild(
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
import { command, flag } from "${ROOT}/lib/cli.ts";
const cli = command("04-server/01-bind.ts", "Does something worth a sentence.", {
  protocol: flag.choice(["tcp", "udp", "both"], "both", "which sockets to open"),
  host: flag.listen("127.0.0.1"),
  port: flag.port(7007, "port to listen on; 0 takes any free port"),
  peer: flag.host(undefined, "a host to reach"),
  timeout: flag.decimal(2, "seconds to wait", { min: 0.1, placeholder: "S" }),
  count: flag.whole(4, "how many", { min: 1, max: 100 }),
  check: flag.list("a HOST:PORT to try", "HOST:PORT", (text) => text),
  json: flag.bool("print one JSON document"),
}, { shown: "[NAME...]", help: "names to look up", max: 3 });
console.log(JSON.stringify(cli.parse(${JSON.stringify(argv)})));
`;
  const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

describe("command(): one table, the parsing and the help", () => {
  test("the usage line lists the words, then every flag with its default, in table order", () => {
    expect(sample().usage).toBe(
      "usage: bun run 04-server/01-bind.ts [NAME...] [--protocol tcp|udp|both] [--host 127.0.0.1] [--port 7007] [--peer HOST] [--timeout 2] [--count 4] [--check HOST:PORT]... [--json]",
    );
  });

  test("--help explains every flag, shows its default, and names the next lesson", () => {
    const { help } = sample();
    expect(help).toContain("Does something worth a sentence.");
    expect(help).toContain("  --port PORT");
    expect(help).toContain("port to listen on; 0 takes any free port (default 7007)");
    expect(help).toContain("--peer HOST");
    expect(help).toMatch(/-h, --help\s+print this text and exit/);
    expect(help).toMatch(/next: bun run 04-server\/\d\d-[a-z-]+\.ts {2}\(.+\)/);
  });

  test("values come back typed, with defaults for what was not given", async () => {
    const { code, stdout } = await parseInChild([
      "a",
      "--port",
      "0",
      "--check",
      "x:1",
      "--check",
      "y:2",
      "--json",
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      words: ["a"],
      protocol: "both",
      host: "127.0.0.1",
      port: 0,
      timeout: 2,
      count: 4,
      check: ["x:1", "y:2"],
      json: true,
    });
  });

  test("a word that starts with a minus and a digit is a word, not a flag: -5 + 3", async () => {
    const { code, stdout } = await parseInChild(["-5", "+", "-.5", "--count", "5"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ words: ["-5", "+", "-.5"], count: 5 });
  });

  test("--help prints the help on stdout and exits 0", async () => {
    const { code, stdout, stderr } = await parseInChild(["--help"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toStartWith("usage: bun run 04-server/01-bind.ts ");
  });

  test.each([
    [["--count", "-1"], '--count must be a whole number from 1 to 100 (got "-1")'],
    [["--timeout", "-0.5"], '--timeout must be a number of at least 0.1 (got "-0.5")'],
    [["--port", "70000"], '--port must be a whole number from 0 to 65535 (got "70000")'],
    [["--port", "http"], '--port must be a whole number from 0 to 65535 (got "http")'],
    [["--count", "1.5"], '--count must be a whole number from 1 to 100 (got "1.5")'],
    [
      ["--host", "localhost"],
      '--host must be an IP address of this machine, like 127.0.0.1 or ::1 (got "localhost")',
    ],
    [["--peer", "a b"], '--peer must be a host name or an IP address (got "a b")'],
    [["--protocol", "sctp"], '--protocol must be tcp, udp or both (got "sctp")'],
    [["--bogus"], "unknown flag --bogus: see the list below"],
    [["--port"], "--port needs a value"],
    [["--json=yes"], "--json takes no value"],
    [["a", "b", "c", "d"], "give at most 3 [NAME...], not 4"],
  ])("%p: one sentence (no parseArgs jargon), the usage, exit 2", async (argv, sentence) => {
    const { code, stdout, stderr } = await parseInChild(argv);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.split("\n")[0]).toBe(sentence);
    expect(stderr).toContain("usage: bun run 04-server/01-bind.ts");
    expect(stderr).not.toContain("ambiguous");
    expect(stderr).not.toContain("To specify a positional");
  });

  test("a program that takes no words says so for a stray one", async () => {
    const script = `import { command, flag } from "${ROOT}/lib/cli.ts";
command("x.ts", "About.", { json: flag.bool("json") }).parse(["stray"]);`;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "pipe", cwd: ROOT });
    const stderr = await new Response(child.stderr).text();
    expect(await child.exited).toBe(2);
    expect(stderr.split("\n")[0]).toBe("unexpected word stray: this program takes flags only");
  });
});

describe("isHostName(): what --host accepts before any look-up", () => {
  test.each([
    ["example.com", true],
    ["localhost", true],
    ["a-b.example.", true],
    ["127.0.0.1", true],
    ["::1", true],
    ["[::1]", true],
    ["no-such-host..invalid", false],
    ["-leading.example", false],
    ["trailing-.example", false],
    ["under_score.example", false],
    ["a b", false],
    ["http://example.com", false],
    [`${"a".repeat(64)}.example`, false],
    [Array.from({ length: 130 }, () => "ab").join("."), false],
    ["", false],
  ])("%p: %p", (text, ok) => {
    expect(isHostName(text)).toBe(ok);
  });
});

describe("endpoint()", () => {
  test("IPv6 in brackets, IPv4 and names as they are, and a gone peer as ?", () => {
    expect(endpoint("127.0.0.1", 80)).toBe("127.0.0.1:80");
    expect(endpoint("::1", 80)).toBe("[::1]:80");
    expect(endpoint("example.test", 8080)).toBe("example.test:8080");
    expect(endpoint(undefined, undefined)).toBe("?:?");
  });
});

describe("serve(): the listening line, the hint, the sentence, the stop", () => {
  test("prints listening on HOST:PORT for each socket, then the hint with the real port", async () => {
    await using server = startLesson(FIXTURE, ["--udp"]);
    const { port } = await server.listening("tcp");
    const udp = await server.listening("udp");
    expect(udp.port).toBe(port);
    await server.waitFor(/Ctrl-C stops the server/);
    expect(server.stdout).toContain(`try  nc 127.0.0.1 ${port}; Ctrl-C stops the server`);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`${signal}: one line saying so, exit 0, the port free again`, async () => {
      await using server = startLesson(FIXTURE);
      const { port } = await server.listening();
      const { code, stdout } = await server.stop(signal);
      expect(code).toBe(0);
      expect(stdout).toContain(`stopped by ${signal}: the port is free again`);
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    });
  }

  test("several TCP listeners: a line for each, in order; a port in use among them is the one named", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      await using server = startLesson(FIXTURE, ["--second", "0"]);
      await server.waitFor(/Ctrl-C stops/);
      expect(server.stdout.match(/listening on 127\.0\.0\.1:\d+ \(tcp\)/g)?.length).toBe(2);
      const { code, stderr } = await runLesson(FIXTURE, ["--second", String(holder.port)]);
      expect({ code, stderr }).toEqual({ code: 1, stderr: `${inUse(holder.port)}\n` });
    } finally {
      holder.stop(true);
    }
  });

  test("a port in use: one sentence naming it, exit 1", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const { code, stdout, stderr } = await runLesson(FIXTURE, ["--port", String(holder.port)]);
      expect({ code, stdout, stderr }).toEqual({
        code: 1,
        stdout: "",
        stderr: `${inUse(holder.port)}\n`,
      });
    } finally {
      holder.stop(true);
    }
  });

  test("an address that is not this machine's: one sentence, exit 1", async () => {
    const { code, stderr } = await runLesson(FIXTURE, ["--host", "198.51.100.77"]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      "198.51.100.77 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses\n",
    );
  });

  test("whyListenFailed: privileged ports and unknown errors have their sentence too", () => {
    const denied = Object.assign(new Error("denied"), { code: "EACCES" });
    expect(whyListenFailed(denied, "0.0.0.0", 80)).toBe(
      "port 80 is below 1024 and needs administrator rights: choose a port above 1023",
    );
    const odd = Object.assign(new Error("odd"), { code: "EWEIRD" });
    expect(whyListenFailed(odd, "::1", 5)).toBe(
      "could not listen on [::1]:5 (EWEIRD): check --host and --port",
    );
  });
});

describe("the client side: connect() and the failure sentences", () => {
  test("connect() opens a socket to a listener of ours", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const socket = await connect("127.0.0.1", listener.port, { data() {} });
      expect(socket.remotePort).toBe(listener.port);
      socket.terminate();
    } finally {
      listener.stop(true);
    }
  });

  test.skipIf(!hasCommand("python3"))(
    "connect() gives up at its time limit on a port that never answers (needs python3)",
    async () => {
      await using silent = await silentPort();
      const started = performance.now();
      const error = await connect("127.0.0.1", silent.port, { data() {} }, 300).catch(
        (caught: unknown) => caught,
      );
      expect((error as NodeJS.ErrnoException).code).toBe("ETIMEDOUT");
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(await whyConnectFailed(error, "127.0.0.1", silent.port)).toBe(
        `127.0.0.1:${silent.port} (tcp) did not answer (no answer within 0.3 s): the host may be down, or a firewall drops the packets`,
      );
    },
  );

  test("a refused connection: nothing listens there", async () => {
    const port = closedPort();
    const error = await connect("127.0.0.1", port, { data() {} }).catch(
      (caught: unknown) => caught,
    );
    expect(await whyConnectFailed(error, "127.0.0.1", port)).toBe(
      `127.0.0.1:${port} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`,
    );
  });

  test.skipIf(!privateNetwork)(
    "no route, IPv4 or IPv6 (which Bun reports as refused), is told apart: no route to the host (needs a private network namespace)",
    async () => {
      const script = `import { connect, whyConnectFailed } from "${ROOT}/lib/cli.ts";
for (const host of ["10.1.2.3", "2001:db8::1"]) {
  const error = await connect(host, 80, { data() {} }).catch((caught) => caught);
  console.log(await whyConnectFailed(error, host, 80));
}`;
      const child = Bun.spawn([...PRIVATE_NETWORK, "bun", "-e", script], {
        stdout: "pipe",
        stderr: "pipe",
        cwd: ROOT,
      });
      const stdout = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      expect(stdout.trim().split("\n")).toEqual([
        "no route to 10.1.2.3: this machine has no network path there (check the address, or your network)",
        "no route to 2001:db8::1: this machine has no network path there (check the address, or your network)",
      ]);
    },
  );

  test.skipIf(!privateNetwork)(
    "a name with no DNS server to ask (offline): said so, not 'check the spelling' (needs a private network namespace)",
    async () => {
      const script = `import { connect, whyConnectFailed } from "${ROOT}/lib/cli.ts";
const error = await connect("pool.ntp.org", 80, { data() {} }).catch((caught) => caught);
console.log(await whyConnectFailed(error, "pool.ntp.org", 80));`;
      const child = Bun.spawn([...PRIVATE_NETWORK, "bun", "-e", script], {
        stdout: "pipe",
        stderr: "pipe",
        cwd: ROOT,
      });
      const stdout = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      expect(stdout.trim()).toBe(
        'could not look up "pool.ntp.org": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts',
      );
    },
  );

  test("an Explained error is its own sentence; a refused UDP port says port unreachable", async () => {
    const explained = new Explained("the reply was not NTP: ask another server");
    expect(await whyConnectFailed(explained, "127.0.0.1", 123, "udp")).toBe(explained.message);
    expect(whyLookupFailed(explained, "x")).toBe(explained.message);
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    expect(await whyConnectFailed(refused, "127.0.0.1", 9, "udp")).toBe(
      "127.0.0.1:9 (udp): port unreachable, nothing listens on that UDP port; start the server, or check --host and --port",
    );
  });

  test("whyLookupFailed: a name that does not exist is not the same as no answer", () => {
    const missing = Object.assign(new Error("x"), { code: "ENOTFOUND" });
    expect(whyLookupFailed(missing, "no-such-host.invalid")).toBe(
      'cannot find the host "no-such-host.invalid": no such name (check the spelling, or give an IP address)',
    );
    const offline = Object.assign(new Error("x"), { code: "EAI_AGAIN" });
    expect(whyLookupFailed(offline, "example.com")).toContain("no DNS server answered");
  });

  test("whyConnectFailed: unreachable, out of descriptors, reset and oversized datagrams", async () => {
    const as = (code: string) => Object.assign(new Error(code), { code });
    expect(await whyConnectFailed(as("EHOSTUNREACH"), "10.0.0.9", 22)).toBe(
      "no route to 10.0.0.9: the host does not answer on its network (is it up? is the address right?)",
    );
    expect(await whyConnectFailed(as("EMFILE"), "127.0.0.1", 22)).toBe(
      "could not open a socket: this program has no file descriptors left (raise ulimit -n, or open fewer connections at once)",
    );
    expect(await whyConnectFailed(as("ECONNRESET"), "127.0.0.1", 22)).toBe(
      "127.0.0.1:22 (tcp) reset the connection",
    );
    expect(await whyConnectFailed(as("EMSGSIZE"), "127.0.0.1", 9, "udp")).toBe(
      "127.0.0.1:9 (udp): a datagram carries at most 65507 bytes; send less",
    );
    expect(timeoutError(1500).message).toBe("no answer within 1.5 s");
  });
});

describe("startServer(): a server lesson in its own process, for a client with no peer", () => {
  test("resolves with the ports it printed, and stop() ends it", async () => {
    const server = await startServer(`${ROOT}/${FIXTURE}`, ["--udp"]);
    try {
      expect(server.host).toBe("127.0.0.1");
      expect(server.udpPort).toBe(server.port);
      expect(server.tcpPorts).toEqual([server.port]);
      const socket = await connect(server.host, server.port, { data() {} });
      socket.terminate();
    } finally {
      await server.stop();
    }
    const error = await connect("127.0.0.1", server.port, { data() {} }).catch(
      (caught: unknown) => caught,
    );
    expect((error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  test("peerOrStart: a given --host or --port is used as it is, with the defaults for the other", async () => {
    const serverFile = `${ROOT}/${FIXTURE}`;
    expect(await peerOrStart({ port: 9 }, { serverFile, defaultPort: 7 })).toEqual({
      host: "127.0.0.1",
      port: 9,
    });
    expect(await peerOrStart({ host: "::1" }, { serverFile, defaultPort: 7 })).toEqual({
      host: "::1",
      port: 7,
    });
  });

  test("peerOrStart: with neither, the chapter's server is started for this run", async () => {
    const peer = await peerOrStart({}, { serverFile: `${ROOT}/${FIXTURE}`, defaultPort: 7 });
    try {
      expect(peer.local).toBeDefined();
      const socket = await connect(peer.host, peer.port, { data() {} });
      socket.terminate();
    } finally {
      await peer.local?.stop();
    }
  });

  test("a server that cannot start: the error says why", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const error = await startServer(`${ROOT}/${FIXTURE}`, ["--port", String(holder.port)]).catch(
        (caught: unknown) => caught,
      );
      expect((error as Error).message).toContain("exited before listening");
    } finally {
      holder.stop(true);
    }
  });
});
