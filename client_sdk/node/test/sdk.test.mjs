// Unit tests of the Node SDK: verification over the kit's vectors, the state
// file, the installation ID, and the retry policy against a local http server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { LicenseClient, LicenseError, RateLimited, SeatLimitReached, ServerUnavailable } from "../src/index.js";
import { deriveInstallationId, installationId } from "../src/fingerprint.js";
import { defaultStateDir } from "../src/state.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const kit = JSON.parse(fs.readFileSync(path.join(here, "../../conformance/vectors.json"), "utf-8"));
const D = kit.defaults;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "licclient-node-"));

function client(stateDir, extra = {}) {
  return new LicenseClient({
    serverUrl: D.server_url, product: D.product, publicKeys: D.public_keys, stateDir,
    installationId: D.installation_id, clock: () => D.clock, ...extra,
  });
}

test("every offline vector of the kit", () => {
  for (const v of kit.vectors.filter((x) => x.op === "status")) {
    const dir = tmp();
    if (v.state !== null) {
      const raw = v.state_text ?? (v.state_base64 ? Buffer.from(v.state_base64, "base64url") : JSON.stringify(v.state));
      fs.writeFileSync(path.join(dir, `${D.product}.json`), raw);
    }
    const s = client(dir).status();
    assert.equal(s.code, v.expect.code, v.name);
    assert.equal(s.valid, v.expect.valid, v.name);
  }
});

test("the constructor throws a TypeError for missing options", () => {
  assert.throws(() => new LicenseClient({ product: "p", publicKeys: D.public_keys }), TypeError);
  assert.throws(() => new LicenseClient({ serverUrl: D.server_url, publicKeys: D.public_keys }), TypeError);
  assert.throws(() => new LicenseClient({ serverUrl: D.server_url, product: "p" }), TypeError);
  assert.throws(() => new LicenseClient(), TypeError);
});

test("a valid status is remembered atomically and privately; clock moves last_seen", () => {
  const dir = tmp();
  const valid = kit.vectors.find((v) => v.name === "valid");
  fs.writeFileSync(path.join(dir, `${D.product}.json`), JSON.stringify(valid.state));
  const c = client(dir, { clock: () => D.clock + 120 });
  assert.equal(c.status().code, "VALID");
  const file = path.join(dir, `${D.product}.json`);
  assert.equal(JSON.parse(fs.readFileSync(file)).last_seen, D.clock + 120);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), [`${D.product}.json`]);
  assert.equal(c.hasFeature("export"), true);
  assert.equal(c.hasFeature("nope"), false);
});

test("the default state folder of each platform (here only the path logic; Windows and macOS do not run)", () => {
  assert.equal(defaultStateDir("linux", { XDG_STATE_HOME: "/x/state" }, "/home/u"), "/x/state/licclient");
  assert.equal(defaultStateDir("linux", {}, "/home/u"), "/home/u/.local/state/licclient");
  assert.equal(defaultStateDir("darwin", {}, "/Users/u"), "/Users/u/Library/Application Support/licclient");
  assert.equal(defaultStateDir("win32", { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "C:\\Users\\u"),
    "C:\\Users\\u\\AppData\\Local\\licclient");
  assert.equal(defaultStateDir("win32", {}, "C:\\Users\\u"), "C:\\Users\\u\\AppData\\Local\\licclient");
});

test("the installation ID is the Python SDK's", () => {
  assert.equal(deriveInstallationId("0123456789abcdef", "cad-pro").length, 40);
  let python;
  try {
    python = execFileSync("python3", ["-c", [
      "import sys; sys.path.insert(0, sys.argv[1])",
      "from pathlib import Path; from licclient import _fingerprint as f",
      "print(f.installation_id('cad-pro', Path(sys.argv[2])))"].join("\n"),
      path.join(here, "../../python"), tmp()], { encoding: "utf-8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    python = null; // no Python with cryptography here: compare with the known derivation only
  }
  if (python) assert.equal(installationId("cad-pro", tmp()), python);
});

function serve(handler) {
  return new Promise((resolve) => {
    const hits = { n: 0 };
    const server = http.createServer((req, res) => { hits.n++; req.resume(); req.on("end", () => handler(req, res, hits.n)); });
    server.listen(0, "127.0.0.1", () => resolve({ server, hits, url: `http://127.0.0.1:${server.address().port}` }));
  });
}
const problem = (res, status, code, headers = {}) => {
  res.writeHead(status, { "Content-Type": "application/problem+json", Connection: "close", ...headers });
  res.end(JSON.stringify({ status, code, detail: `${code} detail` }));
};
const LK = { licenseKey: "LK1.e30.AAAA" };

test("503 is retried 3 times, then ServerUnavailable", async () => {
  const { server, hits, url } = await serve((req, res) => problem(res, 503, "SERVICE_UNAVAILABLE"));
  const delays = [];
  const c = client(tmp(), { serverUrl: url, sleep: async (s) => delays.push(s) });
  await assert.rejects(c.activate(LK), ServerUnavailable);
  assert.equal(hits.n, 4);
  assert.equal(delays.length, 3);
  delays.forEach((d, i) => assert.ok(d >= 0.25 * 2 ** i && d <= Math.min(8, 0.5 * 2 ** i)));
  server.close();
});

test("429 honours a short Retry-After; a long one throws RateLimited at once", async () => {
  const short = await serve((req, res, n) => (n === 1 ? problem(res, 429, "RATE_LIMITED", { "Retry-After": "2" }) : problem(res, 409, "SEAT_LIMIT_REACHED")));
  const delays = [];
  const c = client(tmp(), { serverUrl: short.url, sleep: async (s) => delays.push(s) });
  await assert.rejects(c.activate(LK), (err) => err instanceof SeatLimitReached && err.status === 409 && err.code === "SEAT_LIMIT_REACHED");
  assert.equal(short.hits.n, 2);
  assert.ok(delays[0] >= 2 && delays[0] <= 3);
  short.server.close();
  const long = await serve((req, res) => problem(res, 429, "RATE_LIMITED", { "Retry-After": "61" }));
  const d = client(tmp(), { serverUrl: long.url, sleep: async () => assert.fail("no wait") });
  await assert.rejects(d.activate(LK), (err) => err instanceof RateLimited && err.retryAfter === 61);
  assert.equal(long.hits.n, 1);
  long.server.close();
});

test("a timeout and an unreachable server are ServerUnavailable with no status or code", async () => {
  const slow = await serve(() => {}); // never answers
  const c = client(tmp(), { serverUrl: slow.url, timeoutMs: 100, retries: 1, sleep: async () => {} });
  await assert.rejects(c.activate(LK), (err) => err instanceof ServerUnavailable && err.status === null && err.code === null);
  slow.server.closeAllConnections?.();
  slow.server.close();
  await assert.rejects(c.checkin(), (err) => err instanceof LicenseError && err.code === "NOT_ACTIVATED");
});
