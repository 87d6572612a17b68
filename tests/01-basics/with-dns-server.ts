/**
 * Runs a command with the test DNS responder (tests/fixtures/dns-server.ts, zone LAB_ZONE)
 * as the system's DNS server: the responder on 127.0.0.1:53, then the command, whose exit
 * code this script exits with. Only inside a private network and mount namespace, where
 * /etc/resolv.conf says `nameserver 127.0.0.1` and port 53 is ours: see `privateDns()` in
 * tests/fixtures/private-hosts.ts.
 *
 *   bun tests/01-basics/with-dns-server.ts bun run 01-basics/02-resolve.ts www.lab.test
 */
import { LAB_ZONE, startDnsServer } from "../fixtures/dns-server.ts";

const server = await startDnsServer(LAB_ZONE, 53);
const child = Bun.spawn(process.argv.slice(2), { stdout: "inherit", stderr: "inherit" });
const code = await child.exited;
server.close();
process.exit(code);
