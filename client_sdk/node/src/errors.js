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

export class InvalidCredentials extends LicenseError {
  static defaultMessage = "The licence credentials were not accepted.";
}
export class SeatLimitReached extends LicenseError {
  static defaultMessage = "All seats of the licence are in use.";
}
export class LicenseExpired extends LicenseError {
  static defaultMessage = "The licence has expired.";
}
export class LicenseSuspended extends LicenseError {
  static defaultMessage = "The licence is suspended.";
}
export class LicenseRevoked extends LicenseError {
  static defaultMessage = "The licence was revoked.";
}
export class TrialAlreadyUsed extends LicenseError {
  static defaultMessage = "This machine has already used its trial of the product.";
}
export class Deactivated extends LicenseError {
  static defaultMessage = "This installation was deactivated.";
}
export class CertificateInvalid extends LicenseError {
  static defaultMessage = "The activation certificate did not verify.";
}
export class ServerUnavailable extends LicenseError {
  static defaultMessage = "The licence server is unavailable.";
}

/** Errors that carry the server's Retry-After (seconds), when it said. */
export class RateLimited extends LicenseError {
  static defaultMessage = "Too many requests; try again later.";
  constructor(detail, { retryAfter = null, ...rest } = {}) {
    super(detail, rest);
    this.retryAfter = retryAfter;
  }
}
export class DeactivationLimitReached extends LicenseError {
  static defaultMessage = "This licence may not be deactivated again yet.";
  constructor(detail, { retryAfter = null, ...rest } = {}) {
    super(detail, rest);
    this.retryAfter = retryAfter;
  }
}

const BY_CODE = {
  INVALID_CREDENTIALS: InvalidCredentials,
  SEAT_LIMIT_REACHED: SeatLimitReached,
  LICENSE_EXPIRED: LicenseExpired,
  LICENSE_SUSPENDED: LicenseSuspended,
  LICENSE_REVOKED: LicenseRevoked,
  DEACTIVATED: Deactivated,
  TRIAL_ALREADY_USED: TrialAlreadyUsed,
  DEACTIVATION_LIMIT_REACHED: DeactivationLimitReached,
  RATE_LIMITED: RateLimited,
  SERVICE_UNAVAILABLE: ServerUnavailable,
};

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
