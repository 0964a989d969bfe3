// Offline verification of the server's signed tokens (API.md, "Signed tokens").
// PREFIX.PAYLOAD.SIG: PAYLOAD is base64url (no padding) of JSON, SIG the
// Ed25519 signature over the ASCII PREFIX.PAYLOAD. Only the kid of an
// unverified payload is read, to pick one of the pinned keys.
import { createHash, createPublicKey, verify as cryptoVerify } from "node:crypto";

export const CERTIFICATE_PREFIX = "AC1";
export const LICENSE_KEY_PREFIX = "LK1";
export const MAX_TOKEN_LENGTH = 4096;
export const MAX_TIMESTAMP = 253402300799; // 9999-12-31T23:59:59Z
const B64U = /^[A-Za-z0-9_-]*$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ASCII = /^[\x00-\x7f]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Not a valid token of the expected kind; the message says why (for logs). */
export class InvalidToken extends Error {}

/** Strict base64url without padding: a token has exactly one spelling. */
export function b64uDecode(text) {
  const tail = text.length % 4;
  if (tail === 1 || !B64U.test(text)) throw new InvalidToken("not base64url");
  // the bits of the last character that carry no data must be zero
  if (tail && ALPHABET.indexOf(text[text.length - 1]) & (tail === 2 ? 0x0f : 0x03)) {
    throw new InvalidToken("non-canonical base64url");
  }
  return Buffer.from(text, "base64url");
}

/** The pinned keys by kid; each KeyObject is made when a token first names
 * its kid (a product start verifies one certificate, under one of them). */
class PinnedKeys {
  constructor(texts) {
    this.texts = texts;
    this.objects = new Map();
  }

  get(kid) {
    let key = this.objects.get(kid);
    if (key === undefined && this.texts.has(kid)) {
      try {
        key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: this.texts.get(kid) }, format: "jwk" });
      } catch {
        return undefined; // a key the crypto library refuses verifies nothing
      }
      this.objects.set(kid, key);
    }
    return key;
  }
}

/** {kid: base64url of the 32 raw bytes} (as GET /api/v1/keys lists them), each
 * checked now → the keys by kid (get(kid): a KeyObject or undefined). */
export function loadPublicKeys(keys) {
  if (!keys || typeof keys !== "object" || Object.keys(keys).length === 0) {
    throw new TypeError("publicKeys is empty: pin at least one of the server's keys");
  }
  const loaded = new Map();
  for (const [kid, text] of Object.entries(keys)) {
    if (!kid) throw new TypeError("publicKeys: an empty kid");
    let raw = null;
    try {
      raw = typeof text === "string" ? b64uDecode(text) : null;
    } catch {
      raw = null;
    }
    if (!raw || raw.length !== 32) {
      throw new TypeError(`publicKeys[${JSON.stringify(kid)}]: not the base64url of a 32-byte Ed25519 key`);
    }
    loaded.set(kid, text);
  }
  return new PinnedKeys(loaded);
}

/** The payload of token if it is a prefix token signed by one of keys (loadPublicKeys). */
export function verify(token, prefix, keys) {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH || !ASCII.test(token)) {
    throw new InvalidToken("not a token");
  }
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== prefix) throw new InvalidToken(`not an ${prefix} token`);
  let payload;
  try {
    payload = JSON.parse(utf8.decode(b64uDecode(parts[1])));
  } catch (err) {
    throw new InvalidToken("undecodable payload");
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) {
    throw new InvalidToken("payload is not an object");
  }
  const kid = payload.kid;
  const key = typeof kid === "string" ? keys.get(kid) : undefined;
  if (key === undefined) throw new InvalidToken(`unknown kid ${JSON.stringify(kid)}`);
  const signature = b64uDecode(parts[2]);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`, "ascii");
  if (signature.length !== 64 || !cryptoVerify(null, signed, key, signature)) {
    throw new InvalidToken("bad signature");
  }
  if (payload.v !== 1) throw new InvalidToken("unknown version");
  return payload;
}

function str(p, name) {
  if (typeof p[name] !== "string") throw new InvalidToken(`claim '${name}' missing or not a string`);
  return p[name];
}
function int(p, name) {
  if (!Number.isSafeInteger(p[name])) throw new InvalidToken(`claim '${name}' missing or not an integer`);
  return p[name];
}
function time(p, name) {
  const value = int(p, name);
  if (value < 0 || value > MAX_TIMESTAMP) throw new InvalidToken(`claim '${name}' out of range`);
  return value;
}
function strings(p, name) {
  const value = p[name];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new InvalidToken(`claim '${name}' is not a list of strings`);
  }
  return value;
}

/** The verified claims of an AC1 activation certificate. */
export function certificate(token, keys) {
  const p = verify(token, CERTIFICATE_PREFIX, keys);
  if (!Object.hasOwn(p, "exp")) throw new InvalidToken("claim 'exp' missing");
  return Object.freeze({
    aid: str(p, "aid"),
    lid: str(p, "lid"),
    prod: str(p, "prod"),
    cust: str(p, "cust"),
    iid: str(p, "iid"),
    mn: str(p, "mn"),
    seats: int(p, "seats"),
    features: Object.freeze([...strings(p, "features")]),
    iat: time(p, "iat"),
    exp: p.exp === null ? null : time(p, "exp"),
    until: time(p, "until"),
    kid: str(p, "kid"),
    model: p.model == null ? "node_locked" : str(p, "model"),
    acc: p.acc == null ? null : str(p, "acc"),
    warn: p.warn == null ? [] : strings(p, "warn"),
  });
}

/** The product of a licence key that verifies against keys; null when it does
 * not (the server, which knows every key, has the last word then). */
export function licenseKeyProduct(token, keys) {
  try {
    return str(verify(token, LICENSE_KEY_PREFIX, keys), "prod");
  } catch (err) {
    if (err instanceof InvalidToken) return null;
    throw err;
  }
}

// ---- signed answers (API.md "Signed answers") -----------------------------

export const NONCE_HEADER = "Licserver-Nonce";
export const ANSWER_SIGNATURE_HEADER = "Licserver-Answer-Signature";
const ANSWER_SIGNATURE = /^kid="([A-Za-z0-9._-]{1,32})", t="([0-9]{1,20})", sig="([A-Za-z0-9_-]{86})"$/;

/**
 * Check an answer's Licserver-Answer-Signature: by a pinned key (keys: a Map),
 * over "METHOD PATH\nSTATUS\nT\nDIGEST\nNONCE" of this request and answer
 * (body: a Buffer); throws InvalidToken saying why otherwise.
 */
export function verifyAnswer(header, keys, { method, target, status, body, nonce }) {
  const match = header ? ANSWER_SIGNATURE.exec(header.trim()) : null;
  if (!match) throw new InvalidToken(header ? "malformed signature" : "the answer is not signed");
  const [, kid, t, sig] = match;
  const key = keys.get(kid);
  if (!key) throw new InvalidToken(`the answer is signed by key ${JSON.stringify(kid)}, which is not pinned`);
  const digest = createHash("sha256").update(body).digest("base64url");
  const text = `${method} ${target}\n${status}\n${t}\n${digest}\n${nonce}`;
  if (!ASCII.test(text) || !cryptoVerify(null, Buffer.from(text, "ascii"), key, b64uDecode(sig))) {
    throw new InvalidToken("the answer's signature does not verify");
  }
}
