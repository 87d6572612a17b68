// The chapter's tour (tools/tours/03-http-client.ts, run by `bun . --demo`): every lesson over
// loopback with nothing to type, and exit 0 only when each did what it promises.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

test("the tour plays every lesson over loopback and exits 0", async () => {
  const tour = Bun.spawn(["bun", "run", join(ROOT, "tools/tours/03-http-client.ts")], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(tour.stdout).text(),
    new Response(tour.stderr).text(),
    tour.exited,
  ]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  for (let lesson = 1; lesson <= 13; lesson++)
    expect(stdout).toContain(`$ bun run 03-http-client/${String(lesson).padStart(2, "0")}-`);
  expect(stdout).toContain("$ bun run 03-http-client/12-http-client.ts /chunked");
  expect(stdout).toContain('bad chunk size line "zz"');
}, 90_000);
