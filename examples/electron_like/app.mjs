#!/usr/bin/env node
// A vendor's product embedding licclient, as an Electron main process would
// (a terminal program here): the first start asks for a licence key, later
// starts work offline, "deactivate" frees this computer's seat, every error is
// said in plain words, and a newer version the licence includes is announced
// and downloaded (verified) into LICSERVER_DOWNLOAD_DIR (default: the current folder).
//   LICSERVER_URL=http://127.0.0.1:8000 LICSERVER_KEYS='{"kid":"..."}' node app.mjs [deactivate]
import path from "node:path";
import readline from "node:readline/promises";
import {
  Deactivated, InvalidCredentials, LicenseClient, LicenseError, LicenseExpired, LicenseRevoked,
  LicenseSuspended, RateLimited, SeatLimitReached, ServerUnavailable,
} from "../../client_sdk/node/src/index.js"; // a vendor writes: from "licclient"

const PLAIN = [
  [InvalidCredentials, "That licence key was not accepted. Check it and try again."],
  [SeatLimitReached, "Your licence is in use on all the computers it allows. Deactivate one first."],
  [LicenseExpired, "Your licence has expired. Please renew it."],
  [LicenseSuspended, "Your licence is suspended. Please contact your vendor."],
  [LicenseRevoked, "Your licence was revoked. Please contact your vendor."],
  [Deactivated, "This computer was deactivated. Enter a licence key to activate it again."],
  [RateLimited, "The licence server is busy. Try again in a minute."],
  [ServerUnavailable, "The licence server could not be reached. Check your internet connection."],
];
const STATUS = {
  CHECKIN_REQUIRED: "Please connect to the internet once so that your licence can be renewed.",
  CLOCK_TAMPERED: "Your computer's clock seems to be wrong. Please correct it.",
  CERTIFICATE_INVALID: "The licence on this computer is damaged. Enter your licence key again.",
  LICENSE_EXPIRED: "Your licence has expired. Please renew it.",
  LICENSE_SUSPENDED: "Your licence is suspended. Please contact your vendor.",
  LICENSE_REVOKED: "Your licence was revoked. Please contact your vendor.",
};

const VERSION = "1.0.0";
const PLATFORM = { win32: "windows", darwin: "macos" }[process.platform] ?? "linux";
const ARCH = { x64: "x86_64", arm64: "arm64" }[process.arch] ?? null;

/** At every start: a newer version? An error here never stops the work. */
async function offerUpdate(client) {
  try {
    const update = await client.checkForUpdate(VERSION, { platform: PLATFORM, arch: ARCH });
    if (!update) return;
    console.log(`A new version is available: ${update.version}`);
    const file = path.join(process.env.LICSERVER_DOWNLOAD_DIR ?? ".", `cad-pro-${update.version}.bin`);
    await update.download(file); // resumes; verified before it gets its name
    console.log(`Downloaded and verified: ${file} (SHA-256 ${update.sha256})`);
  } catch (err) {
    if (!(err instanceof LicenseError)) throw err;
    console.log(`Could not update: ${plain(err)}`);
  }
}

function plain(err) {
  const found = PLAIN.find(([cls]) => err instanceof cls);
  return found ? found[1] : `The licence server refused: ${err.detail}`;
}

async function main() {
  const client = new LicenseClient({
    serverUrl: process.env.LICSERVER_URL ?? "http://127.0.0.1:8000",
    product: process.env.LICSERVER_PRODUCT ?? "cad-pro",
    publicKeys: JSON.parse(process.env.LICSERVER_KEYS ?? "{}"),
    stateDir: process.env.LICSERVER_STATE_DIR, // undefined: the per-user default
    retries: 1,
  });
  if (process.argv[2] === "deactivate") {
    await client.deactivate();
    console.log("This computer is deactivated; its seat is free for another one.");
    return 0;
  }
  let status = client.status(); // offline
  if (status.code === "CHECKIN_REQUIRED") {
    try {
      status = await client.checkin();
    } catch (err) {
      if (!(err instanceof LicenseError)) throw err;
      console.log(plain(err));
      status = client.status();
    }
  }
  if (!status.valid && status.code !== "NOT_ACTIVATED" && status.code !== "CERTIFICATE_INVALID") {
    console.log(STATUS[status.code]);
    return 1;
  }
  if (!status.valid) {
    if (status.code === "CERTIFICATE_INVALID") console.log(STATUS.CERTIFICATE_INVALID);
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const key = (await rl.question("Licence key: ")).trim();
    rl.close();
    try {
      status = await client.activate({ licenseKey: key });
    } catch (err) {
      if (!(err instanceof LicenseError)) throw err;
      console.log(plain(err));
      return 1;
    }
  }
  const until = status.expiresAt ? `until ${status.expiresAt.toISOString().slice(0, 10)}` : "with no end date";
  console.log(`Licensed (${status.licenseId}) ${until}. Features: ${status.features.join(", ") || "none"}.`);
  await offerUpdate(client);
  return 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(`Something went wrong: ${err.message}`);
  process.exit(2);
});
