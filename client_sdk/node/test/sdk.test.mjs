// Unit tests of the Node SDK: verification over the kit's vectors, the state
// file, the installation ID, and the retry policy against a local http server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createHash, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  CertificateInvalid, LicenseClient, LicenseError, RateLimited, SeatLimitReached, ServerUnavailable,
} from "../src/index.js";
import { verifyAnswer, loadPublicKeys } from "../src/verify.js";
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
// The kit's key kit-k1 (seed bytes 0..31): the loopback servers sign as the real one does.
const KIT_KEY = createPrivateKey({
  key: { kty: "OKP", crv: "Ed25519", d: Buffer.from([...Array(32).keys()]).toString("base64url"), x: D.public_keys["kit-k1"] },
  format: "jwk",
});
function answerSignature(req, status, raw, { key = KIT_KEY, nonce = req.headers["licserver-nonce"] ?? "" } = {}) {
  const digest = createHash("sha256").update(raw).digest("base64url");
  const t = Math.floor(Date.now() / 1000);
  const text = `${req.method} ${req.url}\n${status}\n${t}\n${digest}\n${nonce}`;
  return `kid="kit-k1", t="${t}", sig="${cryptoSign(null, Buffer.from(text), key).toString("base64url")}"`;
}
const problem = (req, res, status, code, headers = {}) => {
  const raw = Buffer.from(JSON.stringify({ status, code, detail: `${code} detail` }));
  res.writeHead(status, {
    "Content-Type": "application/problem+json",
    Connection: "close",
    "Licserver-Answer-Signature": answerSignature(req, status, raw),
    ...headers,
  });
  res.end(raw);
};
const LK = { licenseKey: "LK1.e30.AAAA" };

test("503 is retried 3 times, then ServerUnavailable", async () => {
  const { server, hits, url } = await serve((req, res) => problem(req, res, 503, "SERVICE_UNAVAILABLE"));
  const delays = [];
  const c = client(tmp(), { serverUrl: url, sleep: async (s) => delays.push(s) });
  await assert.rejects(c.activate(LK), ServerUnavailable);
  assert.equal(hits.n, 4);
  assert.equal(delays.length, 3);
  delays.forEach((d, i) => assert.ok(d >= 0.25 * 2 ** i && d <= Math.min(8, 0.5 * 2 ** i)));
  server.close();
});

test("429 honours a short Retry-After; a long one throws RateLimited at once", async () => {
  const short = await serve((req, res, n) => (n === 1 ? problem(req, res, 429, "RATE_LIMITED", { "Retry-After": "2" }) : problem(req, res, 409, "SEAT_LIMIT_REACHED")));
  const delays = [];
  const c = client(tmp(), { serverUrl: short.url, sleep: async (s) => delays.push(s) });
  await assert.rejects(c.activate(LK), (err) => err instanceof SeatLimitReached && err.status === 409 && err.code === "SEAT_LIMIT_REACHED");
  assert.equal(short.hits.n, 2);
  assert.ok(delays[0] >= 2 && delays[0] <= 3);
  short.server.close();
  const long = await serve((req, res) => problem(req, res, 429, "RATE_LIMITED", { "Retry-After": "61" }));
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

// ---- signed answers (API.md "Signed answers") --------------------------------

test("the API.md test vector verifies, and any change of it does not", () => {
  const keys = loadPublicKeys({ "k-test": "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg" });
  const sig = "CYHz1uh9ItCgpmZBJpEAdM2sfjN2RfpnZupJMl9hdRIeyzaDs3DPgBb8VasJBSEP4F8mUiHLspcrFBK452fUDw";
  const header = `kid="k-test", t="1796200000", sig="${sig}"`;
  const args = {
    method: "POST", target: "/api/v1/validate", status: 200,
    body: Buffer.from('{"code": "VALID", "valid": true}'), nonce: "n-3f9a1c0e5b7d4e21",
  };
  verifyAnswer(header, keys, args);
  for (const change of [{ nonce: "n-other" }, { status: 201 }, { target: "/api/v1/validate?x" }, { body: Buffer.from("{}") }]) {
    assert.throws(() => verifyAnswer(header, keys, { ...args, ...change }));
  }
  assert.throws(() => verifyAnswer(null, keys, args));
  assert.throws(() => verifyAnswer(header.replace("k-test", "k-other"), keys, args));
});

const ATTACKER = generateKeyPairSync("ed25519").privateKey;
const FORGERIES = {
  unsigned: (req, raw) => ({ raw, sig: null }),
  wrong: (req, raw) => ({ raw, sig: answerSignature(req, 201, raw, { key: ATTACKER }) }),
  replay: (req, raw) => ({ raw, sig: answerSignature(req, 201, raw, { nonce: "an-earlier-nonce" }) }),
  flip: (req, raw) => {
    const sig = answerSignature(req, 201, raw);
    const flipped = Buffer.from(raw);
    flipped[flipped.length - 3] ^= 1;
    return { raw: flipped, sig };
  },
};

for (const [name, forge] of Object.entries(FORGERIES)) {
  test(`a forged activation answer (${name}) is CertificateInvalid and nothing is stored`, async () => {
    const { server, url } = await serve((req, res) => {
      const body = Buffer.from(JSON.stringify({ activation_id: "A-KIT-0001", activation_token: "t", certificate: "AC1.x.y", warnings: [] }));
      const { raw, sig } = forge(req, body);
      res.writeHead(201, { "Content-Type": "application/json", Connection: "close", ...(sig ? { "Licserver-Answer-Signature": sig } : {}) });
      res.end(raw);
    });
    const dir = tmp();
    const c = client(dir, { serverUrl: url, retries: 0 });
    // refused for its signature (the bogus certificate in it is never looked at)
    await assert.rejects(c.activate(LK), (err) => err instanceof CertificateInvalid && err.code === "CERTIFICATE_INVALID" &&
      err.status === 201 && /is not the licence server's/.test(err.message));
    assert.deepEqual(fs.readdirSync(dir), []);
    server.close();
  });
}

test("an unsigned 503 is retried and ends in ServerUnavailable, whatever its body says", async () => {
  const { server, hits, url } = await serve((req, res) => {
    res.writeHead(503, { "Content-Type": "application/problem+json", Connection: "close" });
    res.end(JSON.stringify({ status: 503, code: "LICENSE_REVOKED" }));
  });
  const c = client(tmp(), { serverUrl: url, sleep: async () => {} });
  await assert.rejects(c.activate(LK), (err) => err instanceof ServerUnavailable && err.code === null);
  assert.equal(hits.n, 4);
  server.close();
});
