#!/usr/bin/env node
// The Node SDK's conformance driver (client_sdk/conformance/DRIVER.md): one
// JSON request on stdin, one SDK call, one JSON answer on stdout.
import { LicenseClient, RateLimited, ServerUnavailable } from "../src/index.js";

function seconds(date) {
  return date === null || date === undefined ? null : Math.round(date.getTime() / 1000);
}

function statusJson(s) {
  return {
    valid: s.valid,
    code: s.code,
    license_id: s.licenseId,
    expires_at: seconds(s.expiresAt),
    offline_until: seconds(s.offlineUntil),
    features: s.features,
  };
}

function errorJson(err) {
  let code = err.code ?? "LICENSE_ERROR";
  if (err instanceof ServerUnavailable) code = "NETWORK_ERROR";
  else if (err instanceof RateLimited) code = "RATE_LIMITED";
  return { code, http_status: err.status ?? null, detail: err.detail ?? err.message, class: err.constructor.name };
}

async function call(client, op, args) {
  switch (op) {
    case "installation_id":
    case "status":
      return null;
    case "activate":
      return client.activate({
        licenseKey: args.license_key,
        licenseId: args.license_id,
        activationPassword: args.activation_password,
        customerNumber: args.customer_number,
        companyPassword: args.company_password,
      });
    case "checkin":
      return client.checkin();
    case "deactivate":
      return client.deactivate();
    case "has_feature":
      return client.hasFeature(args.name);
    default:
      throw new Error(`unknown op ${op}`);
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const req = JSON.parse(Buffer.concat(chunks).toString("utf-8"));
  const client = new LicenseClient({
    serverUrl: req.server_url,
    product: req.product,
    publicKeys: req.public_keys,
    stateDir: req.state_dir,
    installationId: req.installation_id ?? undefined,
    clock: req.clock === null || req.clock === undefined ? undefined : () => req.clock,
    timeoutMs: req.timeout_ms ?? undefined,
  });
  const answer = { ok: true, installation_id: client.installationId, status: null, has_feature: null, error: null };
  try {
    const result = await call(client, req.op, req.args ?? {});
    if (req.op === "has_feature") answer.has_feature = result;
  } catch (err) {
    if (!("detail" in err) || !("status" in err)) throw err; // not a LicenseError: the driver is broken
    answer.ok = false;
    answer.error = errorJson(err);
  }
  answer.status = statusJson(client.status());
  process.stdout.write(JSON.stringify(answer) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(2);
});
