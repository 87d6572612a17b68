// Preloaded before every test file (bunfig.toml). Network tests start servers and
// spawn lessons, which takes longer than bun's default 5 s on a busy 2-core machine;
// a hung peer still fails its own test by this timeout instead of hanging the suite.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(30_000);
