/**
 * Listens on N TCP ports of its own (port 0), says which on stderr (`listeners: 1234,5678`),
 * then runs the command after N and exits with its exit code. Run inside a private network
 * namespace, it gives a scan known listeners and nothing else:
 *
 *   unshare -n ... bun tests/01-basics/listen-then-run.ts 3 bun run 01-basics/07-port-scan.ts
 */
const listeners = Array.from({ length: Number(process.argv[2]) }, () =>
  Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }),
);
console.error(`listeners: ${listeners.map((listener) => listener.port).join(",")}`);
const child = Bun.spawn(process.argv.slice(3), { stdout: "inherit", stderr: "inherit" });
process.exit(await child.exited);
