export {
  ACCESS_TOKEN_TTL_SECONDS,
  type DevIssuer,
  type DevIssuerClient,
  startDevIssuer,
} from './dev-issuer.js';
export {
  type DevIssuerMachineClient,
  type DevIssuerOptions,
  type DevIssuerTlsOptions,
  type DevIssuerUserClient,
  type ResolvedDevIssuerOptions,
  type ResolvedMachineClient,
  type TlsClientAuthIdentity,
  type TokenRateLimitOptions,
  resolveDevIssuerOptions,
} from './dev-issuer.options.js';
