import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import {
  assertFetchable,
  type JwsAlgorithm,
  type ResolvedSecureApiOptions,
} from '../secure-api.options.js';
import { TokenRejectionReason } from '../errors/secure-api-error-code.js';
import { fetchJson, type FetchLimits } from './jwks-fetch.js';
import { importVerificationJwk, keyMatchesAlgorithm, type VerificationKey } from './jwk-import.js';
import { KeysUnavailable, TokenRejection } from './token-rejection.js';

/** State of one key source, as reported for readiness. */
export interface JwksSourceStatus {
  /** The issuer whose keys these are, or `undefined` when one `jwksUri` serves every issuer. */
  readonly issuer: string | undefined;
  /** The key-set URL, once known (configured or discovered). */
  readonly jwksUri: string | undefined;
  readonly keyCount: number;
  /** Epoch milliseconds of the last successful fetch. */
  readonly fetchedAt: number | undefined;
  /** Why the last fetch failed, when it did; cleared by the next success. */
  readonly lastError: string | undefined;
}

/** What readiness probes need to know about the key store. */
export interface JwksStatus {
  /** `true` when every source holds at least one usable key. */
  readonly ready: boolean;
  readonly sources: readonly JwksSourceStatus[];
}

class KeySource {
  keys: readonly VerificationKey[] = [];
  fetchedAt: number | undefined;
  lastError: string | undefined;
  jwksUri: string | undefined;
  /** Start of the last refetch caused by an unknown `kid`; the bootstrap fetch does not set it. */
  missRefetchAt: number | undefined;
  /** Start of the last fetch of any kind, successful or not. */
  attemptAt: number | undefined;
  private inflight: Promise<void> | undefined;

  constructor(
    readonly issuer: string | undefined,
    private readonly configuredJwksUri: string | undefined,
    private readonly limits: FetchLimits,
    private readonly allowInsecureHttp: boolean,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.jwksUri = configuredJwksUri;
  }

  /** Resolves when the fetch under way, if any, has settled. */
  settled(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  /** Fetches the key set; concurrent callers share one request. Never rejects. */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    this.attemptAt = Date.now();
    try {
      const jwksUri = this.jwksUri ?? (await this.discover());
      const document = await fetchJson(jwksUri, this.limits);
      const keys = this.parse(document, jwksUri);
      const changed =
        keys.map((k) => `${k.kid}:${k.fingerprint}`).join() !==
        this.keys.map((k) => `${k.kid}:${k.fingerprint}`).join();
      this.keys = keys;
      this.fetchedAt = Date.now();
      this.lastError = undefined;
      if (changed) this.onChange();
    } catch (error) {
      // Keep the last good key set: an issuer outage or a bad deploy of its JWKS must not lock
      // every client out while the keys they were issued with are still valid.
      this.lastError = error instanceof Error ? error.message : String(error);
      if (this.configuredJwksUri === undefined) this.jwksUri = undefined;
      this.logger.warn(
        `JWKS fetch failed for ${this.issuer ?? this.configuredJwksUri}: ${this.lastError}; keeping ${this.keys.length} cached key(s)`,
      );
    }
  }

  private parse(document: unknown, jwksUri: string): VerificationKey[] {
    const keys = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error(`${jwksUri} is not a JWK Set (no "keys" array)`);
    const usable: VerificationKey[] = [];
    keys.forEach((jwk: unknown, index) => {
      const result = importVerificationJwk(jwk);
      if (typeof result === 'string') {
        this.logger.warn(`JWKS ${jwksUri}: key ${index} ignored: ${result}`);
      } else {
        usable.push(result);
      }
    });
    if (usable.length === 0) throw new Error(`${jwksUri} holds no usable signing key`);
    return usable;
  }

  /**
   * OpenID Connect Discovery §4 first, then RFC 8414 §3. The metadata's `issuer` must equal
   * ours exactly (OIDC Discovery §4.3), or a document served elsewhere could hand us keys.
   */
  private async discover(): Promise<string> {
    const issuer = this.issuer as string;
    const base = issuer.replace(/\/$/, '');
    const url = new URL(issuer);
    const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const candidates = [
      `${base}/.well-known/openid-configuration`,
      `${url.origin}/.well-known/oauth-authorization-server${path}`,
    ];
    const errors: string[] = [];
    for (const candidate of candidates) {
      try {
        const metadata = (await fetchJson(candidate, this.limits)) as Record<string, unknown>;
        if (metadata?.issuer !== issuer) {
          throw new Error(`${candidate} names another issuer`);
        }
        if (typeof metadata.jwks_uri !== 'string') throw new Error(`${candidate} has no jwks_uri`);
        const jwksUri = new URL(metadata.jwks_uri);
        assertFetchable(jwksUri, 'jwks_uri', this.allowInsecureHttp);
        this.jwksUri = jwksUri.href;
        return this.jwksUri;
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }
    throw new Error(`discovery failed: ${errors.join('; ')}`);
  }
}

/**
 * The issuer's signing keys, fetched from its JWKS and imported once as `KeyObject`s.
 *
 * - fetched at bootstrap; a failed bootstrap fetch does not stop the app (see {@link status});
 * - refreshed in the background once older than `auth.jwks.cacheMaxAgeSeconds`;
 * - refetched at once when a token names an unknown `kid`, then not again for
 *   `auth.jwks.refetchCooldownSeconds`; concurrent misses share one request;
 * - the last good key set is kept when the issuer is down or returns garbage.
 *
 * Header members that point at keys (`jku`, `x5u`, `jwk`, `x5c`) are never used.
 */
@Injectable()
export class JwksKeyStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SecureApi');
  private readonly sources: readonly KeySource[];
  private readonly byIssuer: ReadonlyMap<string, KeySource>;
  private readonly listeners = new Set<() => void>();
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly shutdown = new AbortController();

  constructor(@Inject(SECURE_API_OPTIONS) options: ResolvedSecureApiOptions) {
    const { jwks, issuers, jwksUri } = options.auth;
    const limits: FetchLimits = {
      timeoutMs: jwks.fetchTimeoutSeconds * 1000,
      maxBytes: jwks.maxResponseBytes,
      shutdown: this.shutdown.signal,
    };
    this.maxAgeMs = jwks.cacheMaxAgeSeconds * 1000;
    this.cooldownMs = jwks.refetchCooldownSeconds * 1000;
    const make = (issuer: string | undefined): KeySource =>
      new KeySource(issuer, jwksUri, limits, jwks.allowInsecureHttp, this.logger, () =>
        this.listeners.forEach((listener) => listener()),
      );
    if (jwksUri !== undefined) {
      const shared = make(undefined);
      this.sources = [shared];
      this.byIssuer = new Map(issuers.map((issuer) => [issuer, shared]));
    } else {
      this.sources = issuers.map(make);
      this.byIssuer = new Map(this.sources.map((source) => [source.issuer as string, source]));
    }
  }

  /** Fetches every key set once before the app takes traffic. */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.refresh()));
  }

  /** Aborts key-set fetches under way, so that closing the app never waits on the issuer. */
  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await this.settled();
  }

  /** Registers a callback run whenever a fetched key set differs from the one before. */
  onKeysChanged(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Resolves once every key-set fetch under way (background refreshes included) has settled. */
  async settled(): Promise<void> {
    await Promise.all(this.sources.map((source) => source.settled()));
  }

  /** Readiness: whether keys are loaded, per source, and the last fetch error. */
  status(): JwksStatus {
    const sources = this.sources.map((source): JwksSourceStatus => ({
      issuer: source.issuer,
      jwksUri: source.jwksUri,
      keyCount: source.keys.length,
      fetchedAt: source.fetchedAt,
      lastError: source.lastError,
    }));
    return { ready: sources.every((source) => source.keyCount > 0), sources };
  }

  /**
   * The key that must verify a token with this header, from the issuer's key set.
   *
   * @param issuer the token's (not yet verified) `iss`, used only to pick the key set; the
   *   verifier checks it afterwards.
   * @throws TokenRejection when no key fits; KeysUnavailable when no key set was ever loaded.
   */
  async getKey(
    issuer: unknown,
    kid: string | undefined,
    alg: JwsAlgorithm,
  ): Promise<VerificationKey> {
    const source = typeof issuer === 'string' ? this.byIssuer.get(issuer) : undefined;
    if (source === undefined) throw new TokenRejection(TokenRejectionReason.ISSUER_INVALID);
    const now = Date.now();
    // A stale set is refreshed in the background, at most once per cooldown: while the issuer
    // is down, fetchedAt stays old, and without the cooldown every request would fetch.
    if (
      source.fetchedAt !== undefined &&
      now - source.fetchedAt > this.maxAgeMs &&
      (source.attemptAt === undefined || now - source.attemptAt >= this.cooldownMs)
    ) {
      void source.refresh();
    }
    const found = this.find(source, kid, alg);
    if (found !== undefined) return found;
    if (source.missRefetchAt === undefined || now - source.missRefetchAt >= this.cooldownMs) {
      source.missRefetchAt = now;
      await source.refresh();
    } else {
      // Within the cooldown, a miss still waits for a fetch already under way: the kid it
      // names may be the rotated-in key that fetch is about to bring.
      await source.settled();
    }
    const refetched = this.find(source, kid, alg);
    if (refetched !== undefined) return refetched;
    if (source.keys.length === 0) {
      const waitMs = (source.missRefetchAt ?? now) + this.cooldownMs - now;
      throw new KeysUnavailable(Math.max(1, Math.ceil(waitMs / 1000)));
    }
    throw new TokenRejection(TokenRejectionReason.KEY_NOT_FOUND);
  }

  /** Returns the key, `undefined` for a miss worth a refetch, or throws for a definite no. */
  private find(
    source: KeySource,
    kid: string | undefined,
    alg: JwsAlgorithm,
  ): VerificationKey | undefined {
    if (kid !== undefined) {
      const named = source.keys.filter((key) => key.kid === kid);
      if (named.length === 0) return undefined;
      const match = named.find((key) => keyMatchesAlgorithm(key, alg));
      if (match === undefined) throw new TokenRejection(TokenRejectionReason.KEY_ALG_MISMATCH);
      return match;
    }
    const candidates = source.keys.filter((key) => keyMatchesAlgorithm(key, alg));
    if (candidates.length > 1) throw new TokenRejection(TokenRejectionReason.KID_REQUIRED);
    return candidates[0];
  }
}
