// The installation ID: one per machine and product, stable across restarts,
// updates and reinstalls of the product; exactly the Python SDK's
// (client_sdk/python/licclient/_fingerprint.py), so both SDKs on one machine
// agree:  HMAC-SHA256(key = machine identity, msg = "licclient/installation-id/v1:"
// + product code), the first 40 hex digits.
//
// The machine identity: Linux /etc/machine-id, else /var/lib/dbus/machine-id;
// Windows HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid; macOS
// IOPlatformUUID (ioreg). Without any (minimal containers) a random identity is
// made once in STATE_DIR/machine-id.
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const INSTALLATION_ID_RE = /^[A-Za-z0-9._:-]{8,128}$/;
export const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
const DOMAIN = "licclient/installation-id/v1:";

export function deriveInstallationId(machineIdentity, product) {
  return createHmac("sha256", Buffer.from(machineIdentity, "utf-8"))
    .update(DOMAIN + product, "utf-8")
    .digest("hex")
    .slice(0, 40);
}

function usable(text) {
  const value = text.trim();
  // systemd writes "uninitialized" during first boot; all zeros is no identity either
  if (!value || value === "uninitialized" || /^[0-]+$/.test(value)) return null;
  return value;
}

function fromFiles(files) {
  for (const file of files) {
    let raw;
    try {
      raw = fs.readFileSync(file);
    } catch {
      continue;
    }
    // as Python's read_text(encoding="ascii", errors="replace")
    const text = Array.from(raw, (b) => (b < 0x80 ? String.fromCharCode(b) : "\ufffd")).join("");
    const found = usable(text);
    if (found) return found;
  }
  return null;
}

function run(file, args) {
  try {
    return execFileSync(file, args, { encoding: "utf-8", timeout: 5000, windowsHide: true, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

function windowsMachineGuid() {
  const out = run("reg", ["query", "HKLM\\SOFTWARE\\Microsoft\\Cryptography", "/v", "MachineGuid", "/reg:64"]);
  const found = /MachineGuid\s+REG_SZ\s+(\S+)/.exec(out);
  return found ? usable(found[1]) : null;
}

function macosPlatformUuid() {
  const out = run("/usr/sbin/ioreg", ["-rd1", "-c", "IOPlatformExpertDevice"]);
  const found = /"IOPlatformUUID"\s*=\s*"([^"]+)"/.exec(out);
  return found ? usable(found[1]) : null;
}

/** The operating system's identity of this machine, or null if it has none. */
export function machineIdentity(platform = process.platform, files = MACHINE_ID_FILES) {
  if (platform === "win32") return windowsMachineGuid();
  if (platform === "darwin") return macosPlatformUuid();
  return fromFiles(files);
}

function fallbackIdentity(stateDir) {
  const file = path.join(stateDir, "machine-id");
  for (let i = 0; i < 2; i++) {
    const found = fromFiles([file]);
    if (found) return found;
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    let fd;
    try {
      fd = fs.openSync(file, "wx", 0o600);
    } catch (err) {
      if (err.code === "EEXIST") continue; // another process made it first: read theirs
      throw err;
    }
    try {
      fs.writeSync(fd, randomBytes(16).toString("hex") + "\n");
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  const found = fromFiles([file]);
  if (!found) throw new Error(`${file} holds no usable machine identity`);
  return found;
}

/** This machine's installation ID for product. */
export function installationId(product, stateDir) {
  return deriveInstallationId(machineIdentity() ?? fallbackIdentity(stateDir), product);
}
