// The SDK's errors: one root, LicenseError, and one class per server code a
// product handles differently (the same names as the Python SDK). Server codes
// without a class of their own (VALIDATION_FAILED, NOT_FOUND, ...) throw a
// plain LicenseError carrying that code.

export class LicenseError extends Error {
  static defaultMessage = "The licence server refused the request.";

  /**
   * code: the server's error code, or the SDK's own for a local refusal
   * (NOT_ACTIVATED, CERTIFICATE_INVALID); null when no answer came.
   * status: the HTTP status, null when no answer came.
   */
  constructor(detail, { code = null, status = null, errors = null, cause } = {}) {
    const message = detail || new.target.defaultMessage;
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.detail = message;
    this.code = code;
    this.status = status;
    this.errors = errors ?? {};
  }
}

/** A LicenseError that carries the server's Retry-After (seconds), when it said. */
class RetryLaterError extends LicenseError {
  constructor(detail, { retryAfter = null, ...rest } = {}) {
    super(detail, rest);
    this.retryAfter = retryAfter;
  }
}

// Every subclass: its name, the server code it stands for (null: the SDK's
// own), its default message, and whether it carries retryAfter.
const KINDS = [
  ["InvalidCredentials", "INVALID_CREDENTIALS", "The licence credentials were not accepted."],
  ["SeatLimitReached", "SEAT_LIMIT_REACHED", "All seats of the licence are in use."],
  ["LicenseExpired", "LICENSE_EXPIRED", "The licence has expired."],
  ["LicenseSuspended", "LICENSE_SUSPENDED", "The licence is suspended."],
  ["LicenseRevoked", "LICENSE_REVOKED", "The licence was revoked."],
  [
    "TrialAlreadyUsed",
    "TRIAL_ALREADY_USED",
    "This machine has already used its trial of the product.",
  ],
  ["Deactivated", "DEACTIVATED", "This installation was deactivated."],
  ["CertificateInvalid", null, "The activation certificate did not verify."],
  ["ServerUnavailable", "SERVICE_UNAVAILABLE", "The licence server is unavailable."],
  ["RateLimited", "RATE_LIMITED", "Too many requests; try again later.", true],
  [
    "DeactivationLimitReached",
    "DEACTIVATION_LIMIT_REACHED",
    "This licence may not be deactivated again yet.",
    true,
  ],
];

const CLASSES = {};
const BY_CODE = {};
for (const [name, code, message, retryAfter] of KINDS) {
  const base = retryAfter ? RetryLaterError : LicenseError;
  // a computed key names the class (err.name, stack traces)
  const cls = {
    [name]: class extends base {
      static defaultMessage = message;
    },
  }[name];
  CLASSES[name] = cls;
  if (code !== null) BY_CODE[code] = cls;
}

export const {
  InvalidCredentials,
  SeatLimitReached,
  LicenseExpired,
  LicenseSuspended,
  LicenseRevoked,
  TrialAlreadyUsed,
  Deactivated,
  CertificateInvalid,
  ServerUnavailable,
  RateLimited,
  DeactivationLimitReached,
} = CLASSES;

/** The error for an HTTP error answer (problem: its problem+json body, if any). */
export function errorFor(status, problem, retryAfter = null) {
  const body = problem && typeof problem === "object" ? problem : {};
  const code = typeof body.code === "string" ? body.code : null;
  let detail = typeof body.detail === "string" ? body.detail : null;
  let errors = null;
  if (body.errors && typeof body.errors === "object" && !Array.isArray(body.errors)) {
    errors = {};
    for (const [k, v] of Object.entries(body.errors)) {
      if (Array.isArray(v)) errors[k] = v.map(String);
    }
  }
  let cls = Object.hasOwn(BY_CODE, code ?? "") ? BY_CODE[code] : null;
  if (cls === null && code === null) {
    // Not our server's problem+json (a proxy, a load balancer): judge by status.
    if (status === 429) cls = RateLimited;
    else if (status >= 500) cls = ServerUnavailable;
    detail = detail || `The server answered HTTP ${status} without an explanation.`;
  }
  cls = cls ?? LicenseError;
  return new cls(detail, { code, status, errors, retryAfter });
}
