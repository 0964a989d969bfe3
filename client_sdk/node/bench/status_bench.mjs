// status() per call against one bare crypto.verify of the same certificate
// (goal: at most 2x, warm and cold). Not part of the suite; `make bench` runs it.
//   node client_sdk/node/bench/status_bench.mjs
// "warm" is a product calling status() again on one client (the file is read
// and compared, the unchanged certificate not verified again); "cold" is the
// first call of a new client: read, parse, verify, check.
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
const options = { serverUrl: D.server_url, product: D.product, publicKeys: D.public_keys,
  stateDir: dir, installationId: D.installation_id, clock: () => D.clock };
const client = new LicenseClient(options);

const [prefix, body, sig] = vector.state.certificate.split(".");
const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: D.public_keys["kit-k1"] }, format: "jwk" });
const signed = Buffer.from(`${prefix}.${body}`);
const signature = Buffer.from(sig, "base64url");

function perCall(fn, n) {
  for (let i = 0; i < n / 10; i++) fn(); // warm up (JIT)
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n / 1000; // µs
}
const check = (status) => { if (!status.valid) throw new Error(`not valid: ${status.code}`); };
// The rounds alternate, the median is kept: a busy spell of the machine slows all alike.
const rounds = { bare: [], warm: [], cold: [] };
for (let r = 0; r < 5; r++) {
  rounds.bare.push(perCall(() => verify(null, signed, key, signature), 10000));
  rounds.warm.push(perCall(() => check(client.status()), 10000));
  rounds.cold.push(perCall(() => check(new LicenseClient(options).status()), 2000));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = median(rounds.bare), warm = median(rounds.warm), cold = median(rounds.cold);
const met = (x) => (x <= 2 ? "met" : "NOT met");
console.log(`Node ${process.versions.node}, certificate ${vector.state.certificate.length} characters`);
console.log(`crypto.verify (Ed25519), the reference   ${bare.toFixed(1).padStart(8)} µs per call`);
console.log(`status(), warm client                    ${warm.toFixed(1).padStart(8)} µs per call  (${(warm / bare).toFixed(2)}x; goal <= 2x: ${met(warm / bare)})`);
console.log(`new client + status(), cold              ${cold.toFixed(1).padStart(8)} µs per call  (${(cold / bare).toFixed(2)}x; goal <= 2x: ${met(cold / bare)})`);
console.log(`BENCH_RESULT ${JSON.stringify({ reference_us: bare, warm_us: warm, cold_us: cold,
  warm_ratio: warm / bare, cold_ratio: cold / bare })}`);
fs.rmSync(dir, { recursive: true });
