// LicenseClient: activate, check in, deactivate, and know offline whether this
// installation is licensed (API.md, "SDKs for other languages" → "Node.js and
// Electron"). The same behaviour as the Python SDK, proven by client_sdk/conformance/.
import os from "node:os";
import { CertificateInvalid, Deactivated, InvalidCredentials, LicenseError, LicenseExpired, LicenseRevoked, LicenseSuspended } from "./errors.js";
import * as fingerprint from "./fingerprint.js";
import { Transport } from "./http.js";
import { StateError, StateStore, decode, defaultStateDir, encode } from "./state.js";
import { InvalidToken, certificate, licenseKeyProduct, loadPublicKeys } from "./verify.js";

export const VERSION = "0.1.0";
const PRODUCT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// status() records the clock in the state at most this often (seconds).
const SEEN_STEP = 60;

function dateOf(seconds) {
  return seconds === null || seconds === undefined ? null : new Date(seconds * 1000);
}

function notActivated() {
  return { valid: false, code: "NOT_ACTIVATED", licenseId: null, expiresAt: null, offlineUntil: null, features: [] };
}

function invalid(detail) {
  return { ...notActivated(), code: "CERTIFICATE_INVALID", detail };
}

function refusalOf(err) {
  if (err instanceof LicenseSuspended) return "LICENSE_SUSPENDED";
  if (err instanceof LicenseRevoked) return "LICENSE_REVOKED";
  if (err instanceof LicenseExpired) return "LICENSE_EXPIRED";
  return null;
}

export class LicenseClient {
  /**
   * options: serverUrl, product, publicKeys ({kid: base64url}) are required;
   * stateDir (default: a per-user folder of the platform), installationId
   * (default: derived from the machine), clock (unix seconds; default the
   * system clock), timeoutMs (per request, default 10000), retries (default 3),
   * clockToleranceS (default 3600), appVersion, machineName.
   */
  constructor(options) {
    const o = options ?? {};
    if (typeof o.serverUrl !== "string" || !o.serverUrl) throw new TypeError("serverUrl is required");
    if (typeof o.product !== "string" || !o.product) throw new TypeError("product is required");
    if (!o.publicKeys || typeof o.publicKeys !== "object") throw new TypeError("publicKeys is required");
    let url;
    try {
      url = new URL(o.serverUrl);
    } catch {
      url = null;
    }
    if (!url || !["http:", "https:"].includes(url.protocol)) {
      throw new TypeError(`serverUrl must be an http:// or https:// URL, not ${JSON.stringify(o.serverUrl)}`);
    }
    if (!PRODUCT_RE.test(o.product)) throw new TypeError(`product must be a product code like 'cad-pro', not ${JSON.stringify(o.product)}`);
    this.timeoutMs = o.timeoutMs ?? 10000;
    this.retries = o.retries ?? 3;
    this.clockToleranceS = o.clockToleranceS ?? 3600;
    if (!(this.timeoutMs > 0) || !(this.retries >= 0) || !(this.clockToleranceS >= 0)) {
      throw new TypeError("timeoutMs must be > 0, retries and clockToleranceS >= 0");
    }
    this.serverUrl = o.serverUrl.replace(/\/+$/, "");
    this.product = o.product;
    this.stateDir = o.stateDir ?? defaultStateDir();
    this.keys = loadPublicKeys(o.publicKeys);
    this.clock = o.clock ?? (() => Date.now() / 1000);
    this.appVersion = o.appVersion ?? null;
    this.machineName = o.machineName ?? null;
    let iid = o.installationId ?? null;
    if (iid === null) {
      try {
        iid = fingerprint.installationId(this.product, this.stateDir);
      } catch (err) {
        throw new LicenseError(`This machine has no identity to derive an installation ID from (${err.message}); pass installationId`);
      }
    } else if (typeof iid !== "string" || !fingerprint.INSTALLATION_ID_RE.test(iid)) {
      throw new TypeError("installationId: 8 to 128 characters of A-Z a-z 0-9 . _ : -");
    }
    /** Stable for this machine and product. */
    this.installationId = iid;
    this.store = new StateStore(this.stateDir, this.product);
    this.verified = null; // {raw, state, cert}: an unchanged file is not verified again
    this.transport = new Transport(this.serverUrl, {
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      userAgent: `licclient/${VERSION} Node/${process.versions.node}`,
      publicKeys: this.keys,
      sleep: o.sleep,
      onRetry: o.onRetry ?? null,
    });
  }

  // ---- offline ------------------------------------------------------------

  /** Verify the stored activation. Synchronous, offline; never throws for the licence's condition. */
  status() {
    const now = this.clock();
    const local = this.local();
    if (!local.state) return local;
    const result = this.evaluate(local.state, local.cert, now);
    if (result.code !== "CLOCK_TAMPERED" && now >= local.state.last_seen + SEEN_STEP) {
      this.remember(local.raw, { ...local.state, last_seen: Math.floor(now) }, local.cert);
    }
    return result;
  }

  /** hasFeature(name): true only when the status is VALID and the certificate lists name. */
  hasFeature(name) {
    const current = this.status();
    return current.valid && current.features.includes(name);
  }

  local() {
    let raw;
    try {
      raw = this.store.read();
    } catch (err) {
      return invalid(`state file unreadable: ${err.message}`);
    }
    if (raw === null) return notActivated();
    const cached = this.verified;
    if (cached !== null && cached.raw.equals(raw)) return cached;
    let state, cert;
    try {
      state = decode(raw);
      cert = certificate(state.certificate, this.keys);
    } catch (err) {
      if (err instanceof StateError || err instanceof InvalidToken) return invalid(err.message);
      throw err;
    }
    const reason = this.foreign(state, cert);
    if (reason) return invalid(reason);
    this.verified = { raw: Buffer.from(raw), state, cert };
    return this.verified;
  }

  foreign(state, cert) {
    if (state.product !== this.product || cert.prod !== this.product) {
      return `certificate of product '${cert.prod}', not '${this.product}'`;
    }
    if (state.installation_id !== this.installationId || cert.iid !== this.installationId) {
      return "certificate of another installation";
    }
    if (cert.aid !== state.activation_id) return "certificate of another activation";
    return null;
  }

  evaluate(state, cert, now) {
    let code;
    if (now < Math.max(state.last_seen, cert.iat) - this.clockToleranceS) code = "CLOCK_TAMPERED";
    else if (state.refusal === "LICENSE_REVOKED" || state.refusal === "LICENSE_SUSPENDED") code = state.refusal;
    else if (state.refusal === "LICENSE_EXPIRED" || (cert.exp !== null && now >= cert.exp)) code = "LICENSE_EXPIRED";
    else if (now >= cert.until) code = "CHECKIN_REQUIRED";
    else code = "VALID";
    return {
      valid: code === "VALID",
      code,
      licenseId: cert.lid,
      expiresAt: dateOf(cert.exp),
      offlineUntil: dateOf(cert.until),
      features: [...cert.features],
      activationId: cert.aid,
      customer: cert.cust,
      seats: cert.seats,
      machineName: cert.mn,
      checkedInAt: dateOf(cert.iat),
    };
  }

  remember(raw, state, cert) {
    // best effort: a read-only folder costs only tamper detection
    let written;
    try {
      written = this.store.write(state, raw);
    } catch {
      return;
    }
    if (written.equals(encode(state))) this.verified = { raw: written, state, cert };
  }

  // ---- online -------------------------------------------------------------

  /** Activate with one kind of credentials: {licenseKey} | {licenseId, activationPassword}
   * | {customerNumber, companyPassword}; resolves to the new status. */
  async activate(credentials = {}) {
    const creds = credentialsBody(credentials);
    if (creds.customer_number !== undefined) creds.product = this.product;
    if (creds.license_key !== undefined) {
      const forProduct = licenseKeyProduct(creds.license_key, this.keys);
      if (forProduct !== null && forProduct !== this.product) {
        throw new InvalidCredentials(`This licence key is for the product '${forProduct}', not '${this.product}'.`, {
          code: "INVALID_CREDENTIALS",
        });
      }
    }
    const body = {
      ...creds,
      installation_id: this.installationId,
      machine_name: credentials.machineName ?? this.machineName ?? defaultMachineName(),
      client: this.clientInfo(),
    };
    const { body: answer } = await this.transport.request("POST", "/api/v1/activations", body);
    const aid = answer.activation_id;
    const token = answer.activation_token;
    let text, cert;
    try {
      if (typeof aid !== "string" || !aid || typeof token !== "string" || !token) {
        throw new InvalidToken("the answer has no activation_id or activation_token");
      }
      ({ text, cert } = this.accept(answer.certificate, aid));
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      if (typeof aid === "string" && typeof token === "string") await this.release(aid, token);
      throw new CertificateInvalid(`The server's certificate did not verify (${err.message}); nothing was stored.`, {
        code: "CERTIFICATE_INVALID",
      });
    }
    this.save({
      product: this.product,
      installation_id: this.installationId,
      server: this.serverUrl,
      activation_id: aid,
      activation_token: token,
      certificate: text,
      last_seen: cert.iat,
      refusal: null,
    });
    return this.status();
  }

  /** Refresh the certificate; resolves to the new status. Deactivated removes the local activation. */
  async checkin() {
    const state = this.storedState();
    let answer;
    try {
      ({ body: answer } = await this.transport.request(
        "POST",
        `/api/v1/activations/${encodeURIComponent(state.activation_id)}/checkin`,
        { activation_token: state.activation_token },
      ));
    } catch (err) {
      if (err instanceof Deactivated) {
        this.store.remove();
        this.verified = null;
      } else if (refusalOf(err)) {
        this.save({ ...state, refusal: refusalOf(err) }, true);
      }
      throw err;
    }
    let accepted;
    try {
      accepted = this.accept(answer.certificate, state.activation_id);
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      throw new CertificateInvalid(`The server's certificate did not verify (${err.message}); nothing was stored.`, {
        code: "CERTIFICATE_INVALID",
      });
    }
    this.save({ ...state, certificate: accepted.text, last_seen: accepted.cert.iat, refusal: null });
    return this.status();
  }

  /** Free this installation's seat on the server, then forget the local activation. */
  async deactivate() {
    const state = this.storedState();
    await this.transport.request("DELETE", `/api/v1/activations/${encodeURIComponent(state.activation_id)}`, null, {
      headers: { Authorization: `Activation ${state.activation_token}` },
    });
    this.store.remove();
    this.verified = null;
  }

  // ---- helpers ------------------------------------------------------------

  accept(text, activationId) {
    const cert = certificate(text, this.keys);
    if (cert.prod !== this.product) throw new InvalidToken(`it is for the product '${cert.prod}', not '${this.product}'`);
    if (cert.iid !== this.installationId) throw new InvalidToken("it is for another installation");
    if (cert.aid !== activationId) throw new InvalidToken("it is for another activation");
    return { text, cert };
  }

  async release(activationId, token) {
    // free a seat taken by an answer we cannot use (best effort)
    try {
      await this.transport.request("DELETE", `/api/v1/activations/${encodeURIComponent(activationId)}`, null, {
        headers: { Authorization: `Activation ${token}` },
        retries: 0,
      });
    } catch {
      // the seat stays taken until staff free it
    }
  }

  storedState() {
    let raw;
    try {
      raw = this.store.read();
    } catch (err) {
      throw new CertificateInvalid(`The stored activation cannot be read (${err.message}).`, { code: "CERTIFICATE_INVALID" });
    }
    if (raw === null) throw new LicenseError("This installation is not activated.", { code: "NOT_ACTIVATED" });
    let state;
    try {
      state = decode(raw);
    } catch (err) {
      throw new CertificateInvalid(`The stored activation is unreadable (${err.message}); activate again.`, {
        code: "CERTIFICATE_INVALID",
      });
    }
    if (state.product !== this.product || state.installation_id !== this.installationId) {
      throw new CertificateInvalid("The stored activation belongs to another product or installation; activate again.", {
        code: "CERTIFICATE_INVALID",
      });
    }
    return state;
  }

  save(state, quiet = false) {
    try {
      this.store.write(state);
    } catch (err) {
      if (quiet) return;
      throw new LicenseError(`Could not store the activation in ${this.stateDir}: ${err.message}`);
    }
    this.verified = null;
  }

  clientInfo() {
    const info = {
      os: `${os.type()} ${os.release()}`.trim().slice(0, 200),
      hostname: os.hostname().slice(0, 255),
      app_version: (this.appVersion ?? "").slice(0, 100),
    };
    return Object.fromEntries(Object.entries(info).filter(([, v]) => v));
  }
}

function credentialsBody(c) {
  const kinds = [
    { license_key: c.licenseKey },
    { license_id: c.licenseId, activation_password: c.activationPassword },
    { customer_number: c.customerNumber, company_password: c.companyPassword },
  ];
  const given = kinds.filter((k) => Object.values(k).some((v) => v !== undefined && v !== null));
  if (given.length !== 1 || Object.values(given[0]).some((v) => typeof v !== "string" || !v)) {
    throw new TypeError(
      "give exactly one of: licenseKey; licenseId and activationPassword; customerNumber and companyPassword",
    );
  }
  return { ...given[0] };
}

function defaultMachineName() {
  const name = (process.platform === "win32" && process.env.COMPUTERNAME) || os.hostname() || "";
  return name.trim().slice(0, 255) || "unknown";
}
