// The example's smoke test: a first start with no licence server reachable asks
// for a key and says, in plain words, that the server could not be reached.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), "../app.mjs");

test("first start asks for a key; an unreachable server is said in plain words", () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "electron-like-"));
  const run = spawnSync(process.execPath, [app], {
    input: "LK1.e30.AAAA\n",
    encoding: "utf-8",
    env: {
      ...process.env,
      LICSERVER_URL: "http://127.0.0.1:9",
      LICSERVER_KEYS: JSON.stringify({ "kit-k1": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" }),
      LICSERVER_STATE_DIR: stateDir,
    },
  });
  assert.match(run.stdout, /Licence key: /);
  assert.match(run.stdout, /could not be reached/);
  assert.equal(run.status, 1, run.stderr);
});
