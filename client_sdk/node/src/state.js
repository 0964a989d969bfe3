// The local activation: one JSON file per product in the state folder, the
// format every licserver SDK shares (client_sdk/conformance/DRIVER.md).
// Written atomically (temporary file in the same folder, fsync, rename, fsync
// of the folder), readable by the user only (0600, folder 0700). Reading never
// trusts the file: anything but a well-formed state is a StateError, which the
// client reports as CERTIFICATE_INVALID.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const FORMAT = "licclient-state/1";
export const MAX_STATE_BYTES = 64 * 1024;
const REFUSALS = [null, "LICENSE_SUSPENDED", "LICENSE_REVOKED", "LICENSE_EXPIRED"];
const STRINGS = ["product", "installation_id", "server", "activation_id", "activation_token", "certificate"];
const utf8 = new TextDecoder("utf-8", { fatal: true });

export class StateError extends Error {}

/** A per-user folder of the platform, shared by every product using the SDK
 * (the same folders as the Python SDK's). */
export function defaultStateDir(platform = process.platform, env = process.env, home = os.homedir()) {
  if (platform === "win32") {
    return path.win32.join(env.LOCALAPPDATA || path.win32.join(home, "AppData", "Local"), "licclient");
  }
  if (platform === "darwin") return path.posix.join(home, "Library", "Application Support", "licclient");
  return path.posix.join(env.XDG_STATE_HOME || path.posix.join(home, ".local", "state"), "licclient");
}

export function encode(state) {
  const body = { format: FORMAT, refusal: null, ...state };
  const sorted = Object.fromEntries(Object.keys(body).sort().map((k) => [k, body[k]]));
  return Buffer.from(JSON.stringify(sorted, null, 1) + "\n", "utf-8");
}

export function decode(raw) {
  if (raw.length > MAX_STATE_BYTES) throw new StateError("too large");
  let data;
  try {
    data = JSON.parse(utf8.decode(raw));
  } catch {
    throw new StateError("not JSON");
  }
  if (!data || typeof data !== "object" || Array.isArray(data) || data.format !== FORMAT) {
    throw new StateError("not a licclient state");
  }
  const state = {};
  for (const name of STRINGS) {
    if (typeof data[name] !== "string" || !data[name]) throw new StateError(`'${name}' missing or not a string`);
    state[name] = data[name];
  }
  if (!Number.isSafeInteger(data.last_seen)) throw new StateError("'last_seen' missing or not an integer");
  state.last_seen = data.last_seen;
  const refusal = data.refusal === undefined ? null : data.refusal;
  if (!REFUSALS.includes(refusal)) throw new StateError("'refusal' is not a known code");
  state.refusal = refusal;
  return state;
}

/** The file of one product in one state folder. */
export class StateStore {
  constructor(stateDir, product) {
    this.dir = stateDir;
    this.path = path.join(stateDir, `${product}.json`);
  }

  /** The raw file (a Buffer), or null when there is none. Throws when it cannot be read. */
  read() {
    let fd;
    try {
      fd = fs.openSync(this.path, "r");
    } catch (err) {
      if (err.code === "ENOENT") return null;
      throw err;
    }
    try {
      // sized by the file (read to its end all the same, should it grow meanwhile);
      // one byte over the limit is enough for decode() to refuse it
      const size = Math.min(fs.fstatSync(fd).size, MAX_STATE_BYTES) + 1;
      let buf = Buffer.allocUnsafe(size);
      let n = 0;
      for (;;) {
        const got = fs.readSync(fd, buf, n, buf.length - n, null);
        if (got === 0) break;
        n += got;
        if (n > MAX_STATE_BYTES) break;
        if (n === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      }
      return buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Replace the file atomically; returns the bytes written. With unlessChangedFrom,
   * skip the write (returning the current bytes) when another process changed
   * the file since it was read as those bytes. */
  write(state, unlessChangedFrom = null) {
    const data = encode(state);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (unlessChangedFrom !== null) {
      const current = this.read();
      if (current === null || !current.equals(unlessChangedFrom)) return current ?? Buffer.alloc(0);
    }
    writeAtomically(this.path, data);
    return data;
  }

  remove() {
    try {
      fs.unlinkSync(this.path);
    } catch (err) {
      if (err.code === "ENOENT") return;
      throw err;
    }
    fsyncDir(this.dir);
  }
}

/** Replace file (its folder exists) with data in one step, durably: a temporary
 * file (mode 0600) in the same folder, fsynced, then renamed over it. */
export function writeAtomically(file, data) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
  fsyncDir(path.dirname(file));
}

/** Make a rename or unlink durable (POSIX; Windows has no directory handles). */
function fsyncDir(dir) {
  if (process.platform === "win32") return;
  let fd;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
