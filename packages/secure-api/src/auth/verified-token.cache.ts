import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { SECURE_API_OPTIONS } from '../secure-api.constants.js';
import { ConnectionMemo } from '../logging/request-context.js';
import { type ResolvedSecureApiOptions } from '../secure-api.options.js';
import { JwksKeyStore } from './jwks-key-store.js';
import { type Principal } from './principal.js';
import { assertTimeClaims } from './time-claims.js';

function digest(token: string): string {
  return hash('sha256', token, 'base64url');
}

interface Entry {
  readonly principal: Principal;
  /** Epoch milliseconds after which the entry is not served, whatever the token says. */
  readonly until: number;
}

/**
 * Bounded LRU of verified tokens, keyed by the SHA-256 of the token (the token itself is never
 * held as a key), so that a client's repeated requests skip the signature check.
 *
 * An entry is served for at most `auth.tokenCache.maxTtlSeconds` and never past the token's
 * `exp`; its time claims are checked again on every hit; the whole cache is flushed when the
 * issuer's key set changes, so a removed key stops working at once.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly cache: LRUCache<string, Entry> | undefined;
  private readonly maxTtlMs: number;
  /** Per connection: the last token and its key (see {@link keyOf}). */
  private readonly lastOnConnection = new ConnectionMemo<string>();

  constructor(
    @Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions,
    keyStore: JwksKeyStore,
  ) {
    const settings = options.auth.tokenCache;
    this.maxTtlMs = settings === false ? 0 : settings.maxTtlSeconds * 1000;
    if (settings !== false) {
      this.cache = new LRUCache<string, Entry>({ max: settings.maxEntries });
      keyStore.onKeysChanged(() => this.clear());
    }
  }

  /** Whether caching is on. */
  get enabled(): boolean {
    return this.cache !== undefined;
  }

  /** Number of entries held. */
  get size(): number {
    return this.cache?.size ?? 0;
  }

  /**
   * The cache key of a token. With `connection` (the request's socket), the last token seen on
   * that connection and its key are remembered, so that a keep-alive client repeating its token
   * costs a string comparison instead of a SHA-256 per request.
   */
  keyOf(token: string, connection?: object): string {
    return this.lastOnConnection.get(connection, token, digest);
  }

  /**
   * The principal of a previously verified token, or `undefined` when it is not cached.
   *
   * @throws TokenRejection when the cached token's time claims no longer hold.
   */
  get(key: string): Principal | undefined {
    const entry = this.cache?.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() > entry.until) {
      this.cache?.delete(key);
      return undefined;
    }
    try {
      assertTimeClaims(entry.principal.claims, this.options.auth);
    } catch (rejection) {
      this.cache?.delete(key);
      throw rejection;
    }
    return entry.principal;
  }

  /** Remembers a verified token's principal. */
  set(key: string, principal: Principal): void {
    if (this.cache === undefined) return;
    const until = Math.min(Date.now() + this.maxTtlMs, principal.expiresAt * 1000);
    this.cache.set(key, { principal, until });
  }

  /** Drops every entry. */
  clear(): void {
    this.cache?.clear();
  }
}
