/** tools/tours/02-ntp.ts, the chapter's part of `bun . --demo`. */
import { expect, test } from "bun:test";
import { runLesson } from "../helpers.ts";

test("the tour plays every lesson over loopback without input and exits 0", async () => {
  const { code, stdout, stderr } = await runLesson("tools/tours/02-ntp.ts", [], {
    timeoutMs: 60_000,
  });
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  const lessons = [
    "02-ntp/01-sntp-request.ts",
    "02-ntp/02-careful-client.ts",
    "02-ntp/03-clock-offset.ts",
    "02-ntp/04-best-of-several.ts",
    "02-ntp/05-sntp-server.ts",
  ];
  for (const file of lessons) expect(stdout).toContain(`$ bun run ${file}`);
  expect(stdout).toMatch(/answered 127\.0\.0\.1:\d+/);
  expect(stdout).toContain("stopped by SIGINT");
}, 90_000);
