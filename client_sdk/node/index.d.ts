// Types of licclient, the Node.js/Electron SDK of licserver (hand-written).

export interface LicenseClientOptions {
  serverUrl: string;
  product: string;
  /** {kid: base64url of the 32-byte Ed25519 public key}, as GET /api/v1/keys lists them. */
  publicKeys: Record<string, string>;
  /** Default: a per-user folder of the platform. */
  stateDir?: string;
  /** Default: derived from the machine's identity and the product code. */
  installationId?: string;
  /** Unix seconds. Default: () => Date.now() / 1000. */
  clock?: () => number;
  /** Per request. Default 10000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** How far the clock may go back before CLOCK_TAMPERED. Default 3600. */
  clockToleranceS?: number;
  appVersion?: string;
  machineName?: string;
}

export type StatusCode =
  | "NOT_ACTIVATED" | "CERTIFICATE_INVALID" | "CLOCK_TAMPERED" | "LICENSE_REVOKED"
  | "LICENSE_SUSPENDED" | "LICENSE_EXPIRED" | "CHECKIN_REQUIRED" | "VALID";

export interface Status {
  valid: boolean;
  code: StatusCode;
  licenseId: string | null;
  expiresAt: Date | null;
  offlineUntil: Date | null;
  features: string[];
  activationId?: string;
  customer?: string;
  seats?: number;
  machineName?: string;
  checkedInAt?: Date | null;
  /** Why the stored activation is invalid (for support, not for users). */
  detail?: string;
}

export type Credentials =
  | { licenseKey: string; machineName?: string }
  | { licenseId: string; activationPassword: string; machineName?: string }
  | { customerNumber: string; companyPassword: string; machineName?: string };

export class LicenseClient {
  constructor(options: LicenseClientOptions);
  readonly installationId: string;
  readonly product: string;
  readonly stateDir: string;
  activate(credentials: Credentials): Promise<Status>;
  status(): Status;
  checkin(): Promise<Status>;
  deactivate(): Promise<void>;
  hasFeature(name: string): boolean;
  /**
   * The newest release this licence may have above currentVersion on channel
   * (default "stable", or a more stable one), or null. Its UP1 manifest is
   * verified with the pinned keys (CertificateInvalid otherwise).
   */
  checkForUpdate(currentVersion: string, options?: CheckForUpdateOptions): Promise<Update | null>;
}

export interface CheckForUpdateOptions {
  /** "stable" (default), "rc", "beta", "alpha", "dev", or the vendor's own. */
  channel?: string;
  /** "windows", "macos" or "linux"; without it, only files for every platform are offered. */
  platform?: "windows" | "macos" | "linux" | null;
  arch?: "x86_64" | "arm64" | null;
}

export class Update {
  readonly version: string;
  readonly channel: string;
  readonly releasedAt: Date;
  /** Markdown, or null. */
  readonly notes: string | null;
  readonly downloadUrl: string;
  readonly size: number;
  /** Hex. */
  readonly sha256: string;
  /** The UP1 manifest, verified. */
  readonly manifest: string;
  readonly platform: string | null;
  readonly arch: string | null;
  /**
   * Download to path, resuming a path + ".part" (HTTP Range); the file gets
   * its name only once its size and SHA-256 match the manifest (else the
   * .part is removed and CertificateInvalid thrown). Resolves to path.
   */
  download(path: string): Promise<string>;
}

export const VERSION: string;

export class LicenseError extends Error {
  constructor(detail?: string, options?: { code?: string | null; status?: number | null });
  /** The server's error code, or NOT_ACTIVATED / CERTIFICATE_INVALID; null when no answer came. */
  readonly code: string | null;
  readonly detail: string;
  /** The HTTP status; null when no answer came. */
  readonly status: number | null;
  readonly errors: Record<string, string[]>;
}
export class InvalidCredentials extends LicenseError {}
export class SeatLimitReached extends LicenseError {}
export class LicenseExpired extends LicenseError {}
export class LicenseSuspended extends LicenseError {}
export class LicenseRevoked extends LicenseError {}
export class TrialAlreadyUsed extends LicenseError {}
export class Deactivated extends LicenseError {}
export class CertificateInvalid extends LicenseError {}
export class ServerUnavailable extends LicenseError {}
export class RateLimited extends LicenseError {
  readonly retryAfter: number | null;
}
export class DeactivationLimitReached extends LicenseError {
  readonly retryAfter: number | null;
}
