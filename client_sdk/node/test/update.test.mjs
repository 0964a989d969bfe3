// Update checks of the Node SDK against a tiny local server that signs UP1
// manifests with a key of the test's own: the newest update is verified and
// downloaded; a resumed download (HTTP Range) after a dropped line; a file or
// manifest altered on the way is refused and never lands under its name.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CertificateInvalid, LicenseClient, LicenseError, Update } from "../src/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const kit = JSON.parse(fs.readFileSync(path.join(here, "../../conformance/vectors.json"), "utf-8"));
const D = kit.defaults;
const valid = kit.vectors.find((v) => v.name === "valid");
const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const KID = "k-test";
const PUBLIC_KEYS = { [KID]: publicKey.export({ format: "jwk" }).x };
const FILE = Buffer.concat([Buffer.from("installer 1.2.0 "), Buffer.alloc(200_000, 7)]);
const SHA = createHash("sha256").update(FILE).digest("hex");

function manifest(claims) {
  const payload = Buffer.from(
    JSON.stringify({ v: 1, kid: KID, prod: D.product, ver: "1.2.0", ch: "stable", plat: "linux", arch: "x86_64", sha256: SHA, size: FILE.length, rel: 1_780_000_000, ...claims }),
  ).toString("base64url");
  return `UP1.${payload}.${sign(null, Buffer.from(`UP1.${payload}`), privateKey).toString("base64url")}`;
}

/** Licserver-Answer-Signature of an answer, signed as the real server signs (API.md "Signed answers"). */
function answerSignature(req, status, raw) {
  const digest = createHash("sha256").update(raw).digest("base64url");
  const t = Math.floor(Date.now() / 1000);
  const text = `${req.method} ${req.url}\n${status}\n${t}\n${digest}\n${req.headers["licserver-nonce"] ?? ""}`;
  return `kid="${KID}", t="${t}", sig="${sign(null, Buffer.from(text), privateKey).toString("base64url")}"`;
}

/** A client activated in a fresh folder (the kit's stored state), trusting the test's key. */
function activated(url) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "licclient-update-"));
  fs.writeFileSync(path.join(dir, `${D.product}.json`), JSON.stringify(valid.state));
  const c = new LicenseClient({
    serverUrl: url, product: D.product, publicKeys: PUBLIC_KEYS, stateDir: dir,
    installationId: D.installation_id, clock: () => D.clock, sleep: async () => {},
  });
  return { c, dir };
}

/** The server: /api/v1/updates answers `answer(body)`; /file serves `file()` (Range too). */
function serve({ answer, file = () => FILE, dropAfter = null }) {
  const seen = { bodies: [], ranges: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/api/v1/updates") {
        const body = JSON.parse(Buffer.concat(chunks));
        seen.bodies.push(body);
        const update = answer(body, `http://127.0.0.1:${server.address().port}/go`);
        const raw = Buffer.from(JSON.stringify({ update }));
        res.writeHead(200, { "Content-Type": "application/json", "Licserver-Answer-Signature": answerSignature(req, 200, raw) });
        return res.end(raw);
      }
      if (req.url === "/go") {
        res.writeHead(302, { Location: "/file" }); // like a pre-signed URL
        return res.end();
      }
      const data = file();
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      seen.ranges.push(req.headers.range ?? null);
      const from = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, { "Content-Length": data.length - from });
      if (dropAfter !== null && seen.ranges.length === 1) {
        res.write(data.subarray(from, dropAfter));
        return setTimeout(() => res.destroy(), 20); // the line drops
      }
      res.end(data.subarray(from));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}` })),
  );
}

const good = (body, url) => ({
  version: "1.2.0", channel: "stable", released_at: "2026-05-28T00:00:00Z", notes: "## New\n- faster",
  download_url: url, size: FILE.length, sha256: SHA, manifest: manifest({}),
});

test("checkForUpdate verifies the manifest; download follows the redirect and names the file", async () => {
  const { server, seen, url } = await serve({ answer: good });
  const { c, dir } = activated(url);
  const update = await c.checkForUpdate("1.1.0", { channel: "beta", platform: "linux", arch: "x86_64" });
  assert.ok(update instanceof Update);
  assert.deepEqual(seen.bodies[0], {
    activation_id: valid.state.activation_id, activation_token: valid.state.activation_token,
    current_version: "1.1.0", channel: "beta", platform: "linux", arch: "x86_64",
  });
  assert.equal(update.version, "1.2.0");
  assert.equal(update.platform, "linux");
  assert.equal(update.notes, "## New\n- faster");
  assert.equal(update.releasedAt.getTime(), 1_780_000_000_000);
  const target = path.join(dir, "app-1.2.0.tar.gz");
  assert.equal(await update.download(target), target);
  assert.ok(fs.readFileSync(target).equals(FILE));
  assert.ok(!fs.existsSync(`${target}.part`));
  server.close();
});

test("no update: null; the default channel is stable and no platform is sent", async () => {
  const { server, seen, url } = await serve({ answer: () => null });
  const { c } = activated(url);
  assert.equal(await c.checkForUpdate("1.2.0"), null);
  assert.deepEqual(Object.keys(seen.bodies[0]).sort(), ["activation_id", "activation_token", "channel", "current_version"]);
  assert.equal(seen.bodies[0].channel, "stable");
  await assert.rejects(c.checkForUpdate(""), TypeError);
  server.close();
});

test("a dropped line resumes from the .part with a Range request", async () => {
  const { server, seen, url } = await serve({ answer: good, dropAfter: 70_000 });
  const { c, dir } = activated(url);
  const update = await c.checkForUpdate("1.1.0");
  const target = path.join(dir, "app.bin");
  await update.download(target);
  assert.ok(fs.readFileSync(target).equals(FILE));
  assert.equal(seen.ranges[0], null);
  assert.match(seen.ranges[1], /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(seen.ranges[1])[0]) > 0);
  server.close();
});

test("altered bytes never land; an altered or foreign manifest is refused at the check", async () => {
  const altered = Buffer.from(FILE);
  altered[1000] ^= 1;
  const tampered = await serve({ answer: good, file: () => altered });
  const { c, dir } = activated(tampered.url);
  const update = await c.checkForUpdate("1.1.0");
  const target = path.join(dir, "app.bin");
  await assert.rejects(update.download(target), (err) => err instanceof CertificateInvalid && err.code === "CERTIFICATE_INVALID");
  assert.ok(!fs.existsSync(target) && !fs.existsSync(`${target}.part`));
  const longer = await serve({ answer: good, file: () => Buffer.concat([FILE, Buffer.from("x")]) });
  const { c: c2 } = activated(longer.url);
  await assert.rejects((await c2.checkForUpdate("1.1.0")).download(target), CertificateInvalid);
  assert.ok(!fs.existsSync(target));
  tampered.server.close();
  longer.server.close();

  const cases = [
    (b, u) => ({ ...good(b, u), sha256: "0".repeat(64) }), // the answer's checksum, not the manifest's
    (b, u) => ({ ...good(b, u), version: "9.9.9" }),
    (b, u) => ({ ...good(b, u), size: 5 }),
    (b, u) => ({ ...good(b, u), manifest: manifest({ prod: "other-product" }) }),
    (b, u) => ({ ...good(b, u), manifest: manifest({}).slice(0, -3) + "AAA" }),
    (b, u) => ({ ...good(b, u), manifest: manifest({ kid: "unknown" }) }),
  ];
  for (const answer of cases) {
    const s = await serve({ answer });
    const { c: ci } = activated(s.url);
    await assert.rejects(ci.checkForUpdate("1.1.0"), CertificateInvalid);
    s.server.close();
  }
});

test("a server error of the download throws its code and keeps the .part", async () => {
  const s = await serve({ answer: good, dropAfter: 50_000 });
  const { c, dir } = activated(s.url);
  const update = await c.checkForUpdate("1.1.0");
  s.server.close();
  const gone = http.createServer((req, res) => {
    res.writeHead(410, { "Content-Type": "application/problem+json" });
    res.end(JSON.stringify({ status: 410, code: "LINK_EXPIRED", detail: "expired" }));
  });
  await new Promise((r) => gone.listen(0, "127.0.0.1", r));
  const moved = new Update({ ...update, downloadUrl: `http://127.0.0.1:${gone.address().port}/x` }, update.transfer);
  const target = path.join(dir, "app.bin");
  fs.writeFileSync(`${target}.part`, FILE.subarray(0, 1000));
  await assert.rejects(moved.download(target), (err) => err instanceof LicenseError && err.code === "LINK_EXPIRED" && err.status === 410);
  assert.equal(fs.statSync(`${target}.part`).size, 1000);
  gone.close();
});

test("without an activation: NOT_ACTIVATED", async () => {
  const c = new LicenseClient({
    serverUrl: "http://127.0.0.1:9", product: D.product, publicKeys: PUBLIC_KEYS,
    stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "licclient-update-")), installationId: D.installation_id,
  });
  await assert.rejects(c.checkForUpdate("1.0.0"), (err) => err.code === "NOT_ACTIVATED");
});
