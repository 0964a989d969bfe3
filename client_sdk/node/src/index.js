// licclient: the client SDK of licserver for Node.js and Electron's main process.
// See client_sdk/node/README.md.
export { LicenseClient, VERSION } from "./client.js";
export { Update } from "./update.js";
export {
  CertificateInvalid,
  Deactivated,
  DeactivationLimitReached,
  InvalidCredentials,
  LicenseError,
  LicenseExpired,
  LicenseRevoked,
  LicenseSuspended,
  RateLimited,
  SeatLimitReached,
  ServerUnavailable,
  TrialAlreadyUsed,
} from "./errors.js";
