// HTTP with the global fetch: JSON in and out, a timeout on every request
// (AbortController), retries where they are safe — the Python SDK's policy.
//
// Every call of the client API is idempotent for one installation, so a request
// whose answer was lost may be sent again. Retried: connection errors and
// timeouts, 5xx, and 429 — with capped exponential backoff and jitter, or after
// the Retry-After the server asked for when it is at most MAX_RETRY_AFTER
// seconds (a longer one throws at once). Other 4xx answers are final.
// Redirects are not followed.
//
// Every attempt sends a fresh Licserver-Nonce, and every answer must carry a
// Licserver-Answer-Signature by a pinned key over this request (method, path as
// sent, nonce) and this answer (status, body): one that does not is
// CertificateInvalid at once, before the caller sees anything of it. Only an
// unsigned 429 or 5xx (a proxy's) goes on as usual, judged by its status alone.
import { randomBytes } from "node:crypto";
import { CertificateInvalid, LicenseError, ServerUnavailable, errorFor } from "./errors.js";
import { ANSWER_SIGNATURE_HEADER, NONCE_HEADER, InvalidToken, verifyAnswer } from "./verify.js";

export const MAX_RETRY_AFTER = 60;
export const BACKOFF_BASE = 0.5;
export const BACKOFF_CAP = 8;
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Seconds from Retry-After (delta-seconds or an HTTP date); null if absent or invalid. */
export function parseRetryAfter(value, now = Date.now() / 1000) {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, when / 1000 - now);
}

/** Capped exponential backoff with jitter: half fixed, half random (seconds). */
export function backoff(attempt) {
  const step = Math.min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

class Unreachable extends Error {}

const defaultSleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export class Transport {
  constructor(baseUrl, { timeoutMs, retries, userAgent, publicKeys, sleep = defaultSleep, onRetry = null }) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.keys = publicKeys; // a Map kid → KeyObject; null: nothing checked (fetching the keys to pin)
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.userAgent = userAgent;
    this.sleep = sleep;
    this.onRetry = onRetry;
  }

  /** {status, body} of a 2xx answer; throws the mapped LicenseError otherwise. */
  async request(method, path, body = null, { headers = {}, retries = this.retries } = {}) {
    const data = body === null ? undefined : JSON.stringify(body);
    for (let attempt = 0; attempt <= retries; attempt++) {
      const last = attempt === retries;
      let answer;
      const nonce = randomBytes(18).toString("base64url");
      try {
        answer = await this.once(method, path, data, { ...headers, [NONCE_HEADER]: nonce });
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err;
        if (last) {
          throw new ServerUnavailable(`Could not reach the licence server at ${this.baseUrl}: ${err.message}`, {
            cause: err.cause,
          });
        }
        await this.wait(method, path, backoff(attempt), attempt, retries, err.message);
        continue;
      }
      const { status, replyHeaders, raw } = answer;
      const signed = this.checkSignature(method, path, status, replyHeaders, raw, nonce);
      if (status >= 200 && status < 300) return { status, body: this.jsonObject(raw, status) };
      if (status >= 300 && status < 400) {
        const where = replyHeaders.get("location") ?? "elsewhere";
        throw new LicenseError(
          `The server at ${this.baseUrl} redirects to ${where}: configure the URL it redirects to.`,
          { status },
        );
      }
      const retryAfter = parseRetryAfter(replyHeaders.get("retry-after"));
      // an unsigned 429/5xx is judged by its status alone: its body is nobody's word
      const err = errorFor(status, signed ? problem(raw) : null, retryAfter);
      if (status !== 429 && status < 500) throw err;
      if (retryAfter !== null && retryAfter > MAX_RETRY_AFTER) throw err; // the caller's decision
      if (last) throw err;
      const delay =
        retryAfter === null ? backoff(attempt) : retryAfter + Math.random() * Math.min(1, 0.1 * retryAfter + 0.1);
      await this.wait(method, path, delay, attempt, retries, err.code ?? `HTTP ${status}`);
    }
    throw new Error("unreachable");
  }

  /** Throws CertificateInvalid for an answer not signed for this request; false for an unsigned 429/5xx. */
  checkSignature(method, path, status, replyHeaders, raw, nonce) {
    if (!this.keys) return true;
    const header = replyHeaders.get(ANSWER_SIGNATURE_HEADER);
    if (header === null && (status === 429 || status >= 500)) return false;
    const url = new URL(this.baseUrl + path);
    try {
      verifyAnswer(header, this.keys, { method, target: url.pathname + url.search, status, body: raw, nonce });
    } catch (err) {
      if (!(err instanceof InvalidToken)) throw err;
      throw new CertificateInvalid(
        `The answer from ${this.baseUrl} (HTTP ${status}) is not the licence server's: ${err.message}. ` +
          "Nothing was changed; check the server URL, or a proxy in between.",
        { code: "CERTIFICATE_INVALID", status },
      );
    }
    return true;
  }

  async once(method, path, data, headers) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await fetch(this.baseUrl + path, {
        method,
        body: data,
        redirect: "manual",
        signal: controller.signal,
        headers: {
          Accept: "application/json",
          "User-Agent": this.userAgent,
          ...(data === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
      });
      const raw = Buffer.from(await response.arrayBuffer());
      return { status: response.status, replyHeaders: response.headers, raw: raw.subarray(0, MAX_RESPONSE_BYTES) };
    } catch (err) {
      // the request may have gone out and the answer not come back (reset,
      // closed, timed out): safe to repeat, see above
      const reason = controller.signal.aborted
        ? `no answer within ${this.timeoutMs} ms`
        : (err.cause && (err.cause.code || err.cause.message)) || err.message;
      const unreachable = new Unreachable(String(reason));
      unreachable.cause = err;
      throw unreachable;
    } finally {
      clearTimeout(timer);
    }
  }

  jsonObject(raw, status) {
    const value = problem(raw);
    if (value === null) {
      throw new ServerUnavailable(
        `The answer from ${this.baseUrl} (HTTP ${status}) is not a licence server's: check the server URL, or a proxy in between.`,
        { status },
      );
    }
    return value;
  }

  async wait(method, path, delay, attempt, attempts, reason) {
    if (this.onRetry) this.onRetry({ method, path, delay, attempt: attempt + 1, attempts, reason });
    await this.sleep(delay);
  }
}

function problem(raw) {
  try {
    const value = JSON.parse(raw.toString("utf-8"));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
