// status() per call vs one bare crypto.verify of the same certificate (goal ≤ 2×).
//   node client_sdk/node/bench/status_bench.mjs
import { createPublicKey, verify } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LicenseClient } from "../src/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const kit = JSON.parse(fs.readFileSync(path.join(here, "../../conformance/vectors.json"), "utf-8"));
const D = kit.defaults;
const vector = kit.vectors.find((v) => v.name === "valid");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "licclient-bench-"));
fs.writeFileSync(path.join(dir, `${D.product}.json`), JSON.stringify(vector.state));
const client = new LicenseClient({ serverUrl: D.server_url, product: D.product, publicKeys: D.public_keys,
  stateDir: dir, installationId: D.installation_id, clock: () => D.clock });

const [prefix, body, sig] = vector.state.certificate.split(".");
const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: D.public_keys["kit-k1"] }, format: "jwk" });
const signed = Buffer.from(`${prefix}.${body}`);
const signature = Buffer.from(sig, "base64url");

function perCall(fn, n) {
  for (let i = 0; i < n / 10; i++) fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n / 1000; // µs
}
const N = 20000;
const bare = perCall(() => verify(null, signed, key, signature), N);
const status = perCall(() => { if (!client.status().valid) throw new Error("not valid"); }, N);
console.log(`crypto.verify: ${bare.toFixed(1)} µs/call`);
console.log(`status():      ${status.toFixed(1)} µs/call`);
console.log(`ratio status()/verify: ${(status / bare).toFixed(2)} (goal <= 2)`);
fs.rmSync(dir, { recursive: true });
