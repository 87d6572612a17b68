// Preloaded by bunfig.toml. Network tests start servers and spawn lessons, which can take
// longer than bun's default 5 s on a busy 2-core machine. Bun 1.4.5 applies this default to
// the first test file of a run only, so a test that waits on purpose also passes
// SLOW_TEST_MS (tests/helpers.ts) as its own limit. A hung peer still fails its own test.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
