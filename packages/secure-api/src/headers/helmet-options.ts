import { type HelmetOptions } from 'helmet';

/**
 * HSTS sent on responses to requests that arrived over TLS: one year, subdomains included
 * (RFC 6797 §6.1). `preload` is left to the application, because it commits every subdomain
 * of the registrable domain and is hard to undo.
 */
export const DEFAULT_HSTS = Object.freeze({ maxAge: 31_536_000, includeSubDomains: true });

/**
 * Every option helmet accepts, so that a misspelt one is refused at boot instead of silently
 * ignored. Typed as a record over helmet's own option type: a helmet upgrade that adds an
 * option fails the type check here until it is listed.
 */
export const HELMET_OPTION_NAMES: Readonly<Record<keyof HelmetOptions, true>> = Object.freeze({
  contentSecurityPolicy: true,
  crossOriginEmbedderPolicy: true,
  crossOriginOpenerPolicy: true,
  crossOriginResourcePolicy: true,
  originAgentCluster: true,
  referrerPolicy: true,
  strictTransportSecurity: true,
  hsts: true,
  xContentTypeOptions: true,
  noSniff: true,
  xDnsPrefetchControl: true,
  dnsPrefetchControl: true,
  xDownloadOptions: true,
  ieNoOpen: true,
  xFrameOptions: true,
  frameguard: true,
  xPermittedCrossDomainPolicies: true,
  permittedCrossDomainPolicies: true,
  xPoweredBy: true,
  hidePoweredBy: true,
  xXssProtection: true,
  xssFilter: true,
});

/**
 * The helmet options for one transport: the application's options over the defaults. Over
 * plain HTTP, HSTS is always off, whatever the options say: RFC 6797 §7.2 forbids sending it
 * over a non-secure transport (and browsers ignore it there, §8.1).
 *
 * @param options Validated application options. `resolveOptions()` refuses the `hsts` alias,
 *   which would clash with `strictTransportSecurity`; it is dropped here all the same.
 */
export function helmetOptionsFor(
  options: Readonly<HelmetOptions>,
  transport: 'tls' | 'plain',
): HelmetOptions {
  // Dropping the alias lets TypeScript see that strictTransportSecurity cannot clash with it.
  const { hsts: _alias, ...rest } = options;
  return transport === 'tls'
    ? { strictTransportSecurity: DEFAULT_HSTS, ...rest }
    : { ...rest, strictTransportSecurity: false };
}
