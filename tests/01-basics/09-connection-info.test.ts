// Lesson 01-basics/09-connection-info.ts: both ends of one TCP connection, as each side sees
// them. Every connection is made to a listener the lesson or the test opened on loopback, or
// to a port the test opened and closed again; names and routes that need the network are
// tried only inside a private network namespace.
import { describe, expect, test } from "bun:test";
import { bothViews, clientView, type View } from "../../01-basics/09-connection-info.ts";
import { whyConnectFailed } from "../../lib/cli.ts";
import { canUsePrivateHosts, privateDns } from "../fixtures/private-hosts.ts";
import { silentPort } from "../fixtures/silent-port.ts";
import {
  canUsePrivateNetwork,
  closedPort,
  expectHelpMatchesRun,
  expectUsageError,
  hasCommand,
  PRIVATE_NETWORK,
  runLesson,
} from "../helpers.ts";
import { listen } from "./common.ts";

const LESSON = "01-basics/09-connection-info.ts";
const PRIVATE = await canUsePrivateNetwork();
const PRIVATE_HOSTS = await canUsePrivateHosts();
const PYTHON = hasCommand("python3");
const REFUSED = (where: string): string =>
  `${where} (tcp) refused the connection: nothing listens there; start the server, or check --host and --port`;

describe("09-connection-info in-process", () => {
  const mirrored = ({ client, server }: { client: View; server: View }): void => {
    expect(client.local).toEqual(server.peer);
    expect(client.peer).toEqual(server.local);
  };

  test("bothViews on 127.0.0.1: each side's local end is the other's peer", async () => {
    const views = await bothViews("127.0.0.1");
    mirrored(views);
    expect(views.client.local.family).toBe("IPv4");
    expect(views.client.peer.address).toBe("127.0.0.1");
    expect(views.client.local.port).not.toBe(views.client.peer.port);
  });

  test("bothViews on ::1 reports IPv6 on both ends", async () => {
    const views = await bothViews("::1");
    mirrored(views);
    expect(views.server.local).toMatchObject({ address: "::1", family: "IPv6" });
    expect(views.client.local.family).toBe("IPv6");
  });

  test("clientView of a listener of ours: the peer is the listener's port", async () => {
    await using listener = listen();
    const view = await clientView("127.0.0.1", listener.port);
    expect(view.peer).toEqual({ address: "127.0.0.1", port: listener.port, family: "IPv4" });
    expect(view.local.address).toBe("127.0.0.1");
  });

  test("clientView of a closed port rejects as refused, and lib's sentence says so", async () => {
    const port = closedPort();
    const error = await clientView("127.0.0.1", port).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(Error);
    expect(await whyConnectFailed(error, "127.0.0.1", port)).toBe(REFUSED(`127.0.0.1:${port}`));
  });

  test("clientView of a name that does not exist rejects with the resolver's error", async () => {
    // Two dots: the resolver refuses the name itself, no DNS query leaves the machine.
    const error = await clientView("no-such-host..invalid", 80).catch((reason: unknown) => reason);
    expect((error as NodeJS.ErrnoException).code).toBe("ENOTFOUND");
  });

  test.skipIf(!PYTHON)(
    "clientView of a silent port gives up at the timeout (needs Debian package python3)",
    async () => {
      await using silent = await silentPort();
      await expect(clientView("127.0.0.1", silent.port, 300)).rejects.toThrow(
        "no answer within 0.3 s",
      );
    },
  );
});

describe("09-connection-info as a student runs it", () => {
  test("no arguments: its own listener, the connection seen from both ends", async () => {
    const { code, stdout } = await runLesson(LESSON);
    expect(code).toBe(0);
    const client = stdout.match(/client sees\s+127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s+IPv4/);
    const server = stdout.match(/server sees\s+127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:(\d+)\s+IPv4/);
    expect(client?.[1]).toBe(server?.[2]);
    expect(client?.[2]).toBe(server?.[1]);
    expect(stdout).toContain(
      `The client's end is the server's peer; the kernel chose its port, ${client?.[1]}.`,
    );
  });

  test("--host ::1 --json: both views, IPv6, one JSON document", async () => {
    const { code, stdout } = await runLesson(LESSON, ["--host", "::1", "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { client: View; server: View };
    expect(report.client.local).toEqual(report.server.peer);
    expect(report.server.local.family).toBe("IPv6");
    expect(stdout.trim().startsWith("{")).toBe(true);
  });

  test("--port connects to a server of ours and shows only the client's end", async () => {
    await using listener = listen();
    const { code, stdout } = await runLesson(LESSON, ["--port", `${listener.port}`, "--json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { client: View; server: null };
    expect(report.server).toBeNull();
    expect(report.client.peer.port).toBe(listener.port);
    const text = await runLesson(LESSON, ["--port", `${listener.port}`]);
    expect(text.stdout).toMatch(
      new RegExp(`client sees +127\\.0\\.0\\.1:\\d+ +127\\.0\\.0\\.1:${listener.port} +IPv4`),
    );
    expect(text.stdout).not.toContain("server sees");
  });

  test("a refused connection: lib's one sentence, exit 1", async () => {
    const port = closedPort();
    const { code, stdout, stderr } = await runLesson(LESSON, ["--port", `${port}`]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
    expect(stderr).toBe(`${REFUSED(`127.0.0.1:${port}`)}\n`);
  });

  test("an IPv6 peer is written [::1]:PORT in the sentence, as in the table", async () => {
    const port = closedPort("::1");
    const { code, stderr } = await runLesson(LESSON, ["--host", "::1", "--port", `${port}`]);
    expect(code).toBe(1);
    expect(stderr).toBe(`${REFUSED(`[::1]:${port}`)}\n`);
  });

  // lib's --host flag refuses a name no DNS server could hold before anything is sent.
  test("a malformed host name: lib's sentence, the usage, exit 2", async () => {
    const args = ["--host", "no-such-host..invalid", "--port", "80"];
    await expectUsageError(
      LESSON,
      args,
      '--host must be a host name or an IP address (got "no-such-host..invalid")',
    );
  });

  test.skipIf(!PRIVATE_HOSTS)(
    "an unknown host, with the test DNS responder as the system's: one sentence, exit 1 (needs root, unshare)",
    async () => {
      await using dns = privateDns();
      const lesson = ["bun", "run", LESSON, "--host", "nosuch.lab.test", "--port", "80"];
      const run = await runLesson("tests/01-basics/with-dns-server.ts", lesson, {
        argvPrefix: dns.argvPrefix,
      });
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 1, stdout: "" });
      expect(run.stderr).toBe(
        `cannot find the host "nosuch.lab.test": no such name (check the spelling, or give an IP address)\n`,
      );
    },
  );

  test.skipIf(!PRIVATE)(
    "in a private network: a name that needs DNS is 'no DNS server answered', exit 1 (needs root, unshare)",
    async () => {
      const { code, stderr } = await runLesson(LESSON, ["--host", "example.com", "--port", "80"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        `could not look up "example.com": no DNS server answered (is this machine offline?); give an IP address, or a name from /etc/hosts\n`,
      );
    },
  );

  test.skipIf(!PRIVATE)(
    "in a private network: no route to the host is said so, not 'refused' (needs root, unshare, ip)",
    async () => {
      const { code, stderr } = await runLesson(LESSON, ["--host", "10.1.2.3", "--port", "80"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        "no route to 10.1.2.3: this machine has no network path there (check the address, or your network)\n",
      );
    },
  );

  test.skipIf(!PRIVATE)(
    "no --port and a --host that is not this machine's: lib's sentence for the listen, exit 1 (needs root, unshare, ip)",
    async () => {
      const { code, stderr } = await runLesson(LESSON, ["--host", "192.0.2.7"], {
        argvPrefix: PRIVATE_NETWORK,
      });
      expect(code).toBe(1);
      expect(stderr).toBe(
        "192.0.2.7 is not an address of this machine: listen on 127.0.0.1, ::1, 0.0.0.0 or one of its own addresses\n",
      );
    },
  );

  test.each([
    [["--port", "0"], '--port must be a whole number from 1 to 65535 (got "0")'],
    [["--port", "70000"], '--port must be a whole number from 1 to 65535 (got "70000")'],
    [["--port", "http"], '--port must be a whole number from 1 to 65535 (got "http")'],
    // Defect: parseArgs took "-1" for a flag and printed three lines about an ambiguous option.
    [["--port", "-1"], '--port must be a whole number from 1 to 65535 (got "-1")'],
    [["--host", ""], '--host must be a host name or an IP address (got "")'],
  ])("bad arguments %p: one sentence, the usage, exit 2", async (args, sentence) => {
    await expectUsageError(LESSON, args, sentence);
  });

  test("--help prints the usage its header promises, and exits 0", async () => {
    await expectHelpMatchesRun(LESSON);
  });
});
