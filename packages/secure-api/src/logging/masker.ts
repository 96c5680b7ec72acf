import { EventEmitter } from 'node:events';
import pino from 'pino';

/**
 * What a masked value is replaced with.
 *
 * @example
 * new Masker().mask({ password: 'hunter2' }); // { password: '[REDACTED]' }
 */
export const REDACTED = '[REDACTED]';

const CIRCULAR = '[Circular]';
const TRUNCATED = '[Truncated]';
const UNREADABLE = '[Unreadable]';
const CARD_STARS = '************';

/**
 * Keys whose values are always masked, at any depth. They are compared after normalising both
 * sides (lower case, `-` and `_` removed), so `apiKey`, `API_KEY` and `X-Api-Key` all match.
 * The values of the card keys are shown as `************` + their last four digits when they
 * are a card number, `[REDACTED]` otherwise.
 *
 * @example
 * new Masker({ keys: [...DEFAULT_SENSITIVE_KEYS, 'session'] }); // the defaults are always kept
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'private_key',
  'card_number',
  'credit_card_number',
  'cvv',
  'ssn',
]);

/**
 * Query-parameter names whose values are masked in URLs and in any string (`name=value`),
 * compared normalised like {@link DEFAULT_SENSITIVE_KEYS}. `key` is included: Google-style APIs
 * pass API keys as `?key=`, and a masked non-secret `key` costs less than a leaked one. Names
 * that are only here (not in the keys), such as `code` or `sig`, are matched in strings only in
 * the `name=value` form, not `name: value`, which is common in prose (`error code: 42`).
 *
 * @example
 * new Masker().maskUrl('/cb?code=abc&state=1'); // '/cb?code=[REDACTED]&state=1'
 */
export const DEFAULT_SENSITIVE_QUERY_PARAMS: readonly string[] = Object.freeze([
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'code',
  'client_secret',
  'client_assertion',
  'password',
  'passwd',
  'secret',
  'api_key',
  'apikey',
  'key',
  'jwt',
  'signature',
  'sig',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'X-Goog-Signature',
  'X-Goog-Credential',
]);

/**
 * How the value of a sensitive key is replaced: a fixed string, or a function of the value and
 * the key as written in the object. A function that throws gives `[REDACTED]`; a string it
 * returns is still cleared of control characters and capped.
 *
 * @example
 * const last4: Censor = (value) => `…${String(value).slice(-4)}`;
 */
export type Censor = string | ((value: unknown, key: string) => unknown);

/**
 * Options of {@link Masker}.
 *
 * @example
 * new Masker({ keys: ['session', { key: 'email', censor: '[EMAIL]' }], maxStringLength: 2048 });
 */
export interface MaskingOptions {
  /**
   * Extra keys to mask, added to {@link DEFAULT_SENSITIVE_KEYS}. A string masks with the default
   * censor; an object gives the key its own censor (also for a default key).
   *
   * @default []
   */
  keys?: readonly (string | { key: string; censor: Censor })[];
  /**
   * Extra query-parameter names whose values are masked in URLs and strings, added to
   * {@link DEFAULT_SENSITIVE_QUERY_PARAMS}.
   *
   * @default []
   */
  queryParams?: readonly string[];
  /**
   * Longest string written, marker included: longer ones are cut and end with `…[+N chars]`.
   * 4096 keeps a full stack trace of a few causes and still bounds a line built from a
   * megabyte body. At least 32.
   *
   * @default 4096
   */
  maxStringLength?: number;
  /**
   * Object levels walked: the value passed is level 1, and objects deeper than `maxDepth` levels
   * become `'[Truncated]'` (primitives are kept at any depth).
   *
   * @default 10
   */
  maxDepth?: number;
}

interface KeyRule {
  /** `undefined`: the default censor. */
  readonly censor: Censor | undefined;
  readonly card: boolean;
}

interface KeyInfo {
  /** The key as written out: the key itself unless it held control characters or a secret. */
  readonly name: string;
  readonly rule: KeyRule | undefined;
}

/** Returned by the walk for values that are left out (functions, symbols). */
const DROP: unique symbol = Symbol('drop');

const CARD_KEYS = new Set(['cardnumber', 'creditcardnumber']);
/** Header-like keys whose value in a string runs to the end of the line (`Cookie: a=1; b=2`). */
const LINE_KEYS = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie']);

const SEPARATORS = /[-_]/g;
const CONTROL_CLASS = '\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
// Bidi overrides and isolates are included: they reorder what a terminal shows.
const CONTROL = new RegExp(`[${CONTROL_CLASS}]`);
const CONTROL_ALL = new RegExp(`[${CONTROL_CLASS}]`, 'g');
const SEPARATOR_OR_CONTROL = new RegExp(`[=:${CONTROL_CLASS}]`);
const QUOTED = String.raw`"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|\\"(?:[^"\\]|\\[^"])*(?:\\")?`;
/** The value after a header-like key runs to the end of the line (`Cookie: a=1; b=2`). */
const LINE_VALUE = new RegExp(String.raw`${QUOTED}|[^\r\n"'\\]+`, 'y');
const KEY_VALUE = new RegExp(
  String.raw`${QUOTED}|(?:bearer|basic)\s+[A-Za-z0-9._~+/-]+=*|[^\s&#,;"'<>(){}[\]\\]+`,
  'iy',
);
const QUERY_VALUE = /[^\s&#,;"'<>(){}[\]\\]+/y;
const WORD_GUARD = /bearer|basic|eyj/i;
const AUTH = /(?<![A-Za-z0-9])(?:bearer|basic)\s+([A-Za-z0-9._~+/-]+=*)/gi;
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){1,4}/g;
/** 13 digits, separators allowed: a cheap test that most strings fail before the full one. */
// Not glued to a letter either: a UUID or a hex digest holds digit runs that pass Luhn by
// chance (`…-2e29-4214-9788-26453fdbc106`), and a request id must stay readable.
const CARD_GUARD = /(?<![A-Za-z])(?<!\d[ -]?)\d(?:[ -]?\d){12}/;
const CARD = /(?<![A-Za-z])(?<!\d[ -]?)\d(?:[ -]?\d){12,18}(?![ -]?\d)(?![A-Za-z])/g;
const CARD_WHOLE = /^\d(?:[ -]?\d){12,18}$/;
/** An `Authorization` scheme followed by an ordinary word is prose, not a credential. */
const PROSE = /^[A-Za-z][a-z]*$/;
const QUERY_START = /[?#]/;
const QUERY_PAIR = /([?&#;])([^=&#;]*)=([^&#;]*)/g;
/** Input past this many characters beyond the cap is cut before the patterns run. */
const PATTERN_MARGIN = 1024;
const KEY_CACHE_MAX = 2048;
const KEY_CACHE_MAX_LENGTH = 256;
const STRING_CACHE_MAX = 4096;
const STRING_CACHE_MIN_LENGTH = 12;
const STRING_CACHE_MAX_LENGTH = 256;

function normalise(key: string): string {
  const lower = key.toLowerCase();
  return lower.includes('-') || lower.includes('_') ? lower.replace(SEPARATORS, '') : lower;
}

/** `[A-Za-z0-9_-]`, by char code. */
function isNameChar(code: number): boolean {
  const lower = code | 0x20;
  return (lower >= 97 && lower <= 122) || (code >= 48 && code <= 57) || code === 45 || code === 95;
}

function authReplacer(match: string, token: string, offset: number, input: string): string {
  if (PROSE.test(token)) return match;
  // `Bearer realm="api"` (a challenge): the "token" is the name of an auth-param.
  const challenge =
    token.endsWith('=') && PROSE.test(token.slice(0, -1)) && input[offset + match.length] === '"';
  return challenge ? match : REDACTED;
}

function cardReplacer(match: string): string {
  return cardMask(match) ?? match;
}

function escapeControl(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    const code = digits.charCodeAt(i);
    if (code < 48 || code > 57) continue;
    let d = code - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** `************` + the last four digits when `digits` (separators allowed) is a card number. */
function cardMask(candidate: string): string | undefined {
  if (!luhnValid(candidate)) return undefined;
  const digits = candidate.replace(/[ -]/g, '');
  return digits.length >= 13 && digits.length <= 19 ? CARD_STARS + digits.slice(-4) : undefined;
}

function cardMaskOf(value: unknown): string | undefined {
  if (typeof value === 'string') return CARD_WHOLE.test(value) ? cardMask(value) : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) {
    return cardMask(String(value));
  }
  return undefined;
}

function setProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

function hasEnumerableKeys(object: object): boolean {
  for (const _key in object) return true;
  return false;
}

function isPlainPrototype(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeName(value: object): string {
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'Object';
}

function fail(field: string, problem: string): never {
  throw new TypeError(`Masker: "${field}" ${problem}`);
}

function positiveInteger(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(field, `must be an integer of at least ${min}`);
  }
  return value;
}

function nonEmptyName(value: unknown, field: string): string {
  if (typeof value !== 'string' || normalise(value).trim() === '') {
    fail(field, 'must be a non-empty string (other than "-" and "_")');
  }
  return value;
}

const OPTION_NAMES = new Set(['keys', 'queryParams', 'maxStringLength', 'maxDepth']);

/**
 * Masks what the module logs: request logs, log call arguments, errors with their `cause`
 * chains and stacks. It never mutates its input; {@link Masker.mask} returns a masked copy that
 * shares the input's unchanged plain objects and arrays (it is meant to be serialised, not
 * mutated). Build one per configuration and reuse it: its key and string caches live in it.
 *
 * @example
 * const masker = new Masker({ keys: ['session'] });
 * masker.mask({ headers: { authorization: 'Bearer abc' }, note: 'password=hunter2' });
 * // { headers: { authorization: '[REDACTED]' }, note: 'password=[REDACTED]' }
 */
export class Masker {
  /** The `maxStringLength` in force. */
  readonly maxStringLength: number;
  /** The `maxDepth` in force. */
  readonly maxDepth: number;
  private readonly rules = new Map<string, KeyRule>();
  private readonly queryNames = new Set<string>();
  private readonly stringCache = new Map<string, string>();
  /** Whether Object.prototype had enumerable keys when the current walk started. */
  private prototypeEnumerable = false;
  /** Longest sensitive name as it may be written (separators between all its characters). */
  private readonly longestName: number;
  private readonly keyCache = new Map<string, KeyInfo>();

  constructor(options: MaskingOptions = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      fail('options', 'must be an object');
    }
    for (const name of Object.keys(options)) {
      if (!OPTION_NAMES.has(name))
        fail(name, `is not an option (use ${[...OPTION_NAMES].join(', ')})`);
    }
    this.maxStringLength = positiveInteger(options.maxStringLength, 'maxStringLength', 4096, 32);
    this.maxDepth = positiveInteger(options.maxDepth, 'maxDepth', 10, 1);

    for (const key of DEFAULT_SENSITIVE_KEYS) {
      const normalised = normalise(key);
      this.rules.set(normalised, { censor: undefined, card: CARD_KEYS.has(normalised) });
    }
    const keys: unknown = options.keys ?? [];
    if (!Array.isArray(keys)) fail('keys', 'must be an array');
    keys.forEach((entry: unknown, index) => {
      const field = `keys[${index}]`;
      if (typeof entry === 'string') {
        const normalised = normalise(nonEmptyName(entry, field));
        if (!this.rules.has(normalised)) {
          this.rules.set(normalised, { censor: undefined, card: CARD_KEYS.has(normalised) });
        }
        return;
      }
      if (typeof entry !== 'object' || entry === null) {
        fail(field, 'must be a string or { key, censor }');
      }
      const { key, censor } = entry as { key?: unknown; censor?: unknown };
      const normalised = normalise(nonEmptyName(key, `${field}.key`));
      if (typeof censor !== 'string' && typeof censor !== 'function') {
        fail(`${field}.censor`, 'must be a string or a function (value, key) => unknown');
      }
      this.rules.set(normalised, { censor: censor as Censor, card: CARD_KEYS.has(normalised) });
    });

    const params: unknown = options.queryParams ?? [];
    if (!Array.isArray(params)) fail('queryParams', 'must be an array');
    for (const name of DEFAULT_SENSITIVE_QUERY_PARAMS) this.queryNames.add(normalise(name));
    (params as unknown[]).forEach((name, index) => {
      this.queryNames.add(normalise(nonEmptyName(name, `queryParams[${index}]`)));
    });
    const longest = Math.max(...[...this.rules.keys(), ...this.queryNames].map((n) => n.length));
    this.longestName = longest * 2;
  }

  /**
   * A masked copy of `value`: sensitive keys censored at any depth, value patterns masked in
   * every string, errors through {@link Masker.maskError}, cycles as `'[Circular]'`, objects past
   * `maxDepth` as `'[Truncated]'`, buffers as `'[Buffer N bytes]'`, bigints as strings, dates as
   * ISO strings, `Map`s as objects (or `[key, value]` pairs when a key is not a string or
   * number), `Set`s as arrays, `toJSON()` results masked, class instances as plain objects of
   * their own enumerable properties, event emitters (requests, responses, sockets, streams) as
   * `'[ClassName]'`; functions and symbols are left out.
   *
   * @example
   * masker.mask({ user: { password: 'x' }, ids: [1n] }); // { user: { password: '[REDACTED]' }, ids: ['1'] }
   */
  mask(value: unknown): unknown {
    this.prototypeEnumerable = hasEnumerableKeys(Object.prototype);
    const masked = this.walk(value, 0, []);
    return masked === DROP ? undefined : masked;
  }

  /**
   * `value` with card numbers, JWTs, `Bearer`/`Basic` credentials and sensitive `name=value`,
   * `name: value` and `"name":"value"` pairs masked, control characters written as visible
   * escapes (`\x1b`, `\u2028`) and the length capped at `maxStringLength`.
   *
   * @example
   * masker.maskString('paid with 4111 1111 1111 1111\n'); // 'paid with ************1111\\x0a'
   */
  maskString(value: string): string {
    // Shorter strings are checked faster than they are looked up.
    if (value.length < STRING_CACHE_MIN_LENGTH || value.length > STRING_CACHE_MAX_LENGTH) {
      return this.maskFresh(value);
    }
    // Log lines repeat the same short strings (header values, messages, enum-like fields).
    const cached = this.stringCache.get(value);
    if (cached !== undefined) return cached;
    const masked = this.maskFresh(value);
    if (this.stringCache.size >= STRING_CACHE_MAX) this.stringCache.clear();
    this.stringCache.set(value, masked);
    return masked;
  }

  /**
   * `url` with the values of sensitive query (and fragment) parameters masked, then
   * {@link Masker.maskString}.
   *
   * @example
   * masker.maskUrl('/login?user=ann&password=x#access_token=y'); // '/login?user=ann&password=[REDACTED]#access_token=[REDACTED]'
   */
  maskUrl(url: string): string {
    const start = url.search(QUERY_START);
    if (start === -1) return this.maskString(url);
    const tail = url
      .slice(start)
      .replace(QUERY_PAIR, (match, separator: string, name: string) =>
        this.isSensitiveParam(name) ? `${separator}${name}=${REDACTED}` : match,
      );
    return this.maskString(url.slice(0, start) + tail);
  }

  /**
   * A user-controlled string (path, user agent, request id) made safe to write: control
   * characters as visible escapes, at most `maxLength` characters (with the `…[+N chars]`
   * marker when there is room for it). No value patterns: use {@link Masker.maskString} for that.
   *
   * @example
   * masker.sanitize('curl/8\r\nfake: line', 64); // 'curl/8\\x0d\\x0afake: line'
   */
  sanitize(value: string, maxLength: number): string {
    if (!Number.isSafeInteger(maxLength) || maxLength < 0) {
      fail('maxLength', 'must be a non-negative integer');
    }
    if (value.length <= maxLength && !CONTROL.test(value)) return value;
    const kept = value.length > maxLength ? value.slice(0, maxLength) : value;
    const escaped = CONTROL.test(kept) ? kept.replace(CONTROL_ALL, escapeControl) : kept;
    return cap(escaped, maxLength, value.length - kept.length);
  }

  /**
   * A masked plain record of `error`: `{ type, message, stack, code?, …own enumerable
   * properties, errors? (AggregateError), cause? }`, each masked, causes and `errors` masked
   * recursively (cycles as `'[Circular]'`).
   *
   * @example
   * masker.maskError(new Error('bad token=abc', { cause: new Error('x') }));
   * // { type: 'Error', message: 'bad token=[REDACTED]', stack: '…', cause: { type: 'Error', … } }
   */
  maskError(error: Error): Record<string, unknown> {
    this.prototypeEnumerable = hasEnumerableKeys(Object.prototype);
    return this.walkError(error, 0, []);
  }

  private maskFresh(value: string): string {
    const limit = this.maxStringLength;
    let text =
      value.length > limit + PATTERN_MARGIN ? value.slice(0, limit + PATTERN_MARGIN) : value;
    const dropped = value.length - text.length;
    // Three cheap guards, one scan each: most strings fail all of them and are returned as is.
    const separatorOrControl = SEPARATOR_OR_CONTROL.test(text);
    if (separatorOrControl && (text.includes('=') || text.includes(':'))) {
      text = this.maskPairs(text);
    }
    if (WORD_GUARD.test(text)) {
      text = text.replace(AUTH, authReplacer);
      if (text.includes('eyJ')) text = text.replace(JWT, REDACTED);
    }
    if (text.length >= 13 && CARD_GUARD.test(text)) text = text.replace(CARD, cardReplacer);
    if (separatorOrControl && CONTROL.test(text)) text = text.replace(CONTROL_ALL, escapeControl);
    return cap(text, limit, dropped);
  }

  /** `name=value`, `name: value` and `"name":"value"` pairs with a sensitive name masked. */
  private maskPairs(input: string): string {
    let out = '';
    let copied = 0;
    let from = 0;
    let equals = input.indexOf('=');
    let colon = input.indexOf(':');
    for (;;) {
      if (equals !== -1 && equals < from) equals = input.indexOf('=', from);
      if (colon !== -1 && colon < from) colon = input.indexOf(':', from);
      const sep = equals === -1 ? colon : colon === -1 ? equals : Math.min(equals, colon);
      if (sep === -1) break;
      from = sep + 1;
      let end = sep;
      while (
        end > copied &&
        (input.charCodeAt(end - 1) === 32 || input.charCodeAt(end - 1) === 9)
      ) {
        end--;
      }
      const quote = input.charCodeAt(end - 1);
      if (end > copied && (quote === 34 || quote === 39)) {
        end--;
        if (end > copied && input.charCodeAt(end - 1) === 92) end--;
      }
      let start = end;
      while (start > copied && isNameChar(input.charCodeAt(start - 1))) start--;
      // Names start with a letter: skips times (`18:22`), ports and ids before the slice.
      const first = input.charCodeAt(start) | 0x20;
      if (start === end || first < 97 || first > 122 || end - start > this.longestName) continue;
      const name = normalise(input.slice(start, end));
      const isKey = this.rules.has(name);
      if (!isKey && (input.charCodeAt(sep) === 58 || !this.queryNames.has(name))) continue;
      let at = sep + 1;
      while (at < input.length && (input.charCodeAt(at) === 32 || input.charCodeAt(at) === 9)) {
        at++;
      }
      const pattern = LINE_KEYS.has(name) ? LINE_VALUE : isKey ? KEY_VALUE : QUERY_VALUE;
      pattern.lastIndex = at;
      const value = pattern.exec(input)?.[0];
      if (value === undefined) continue;
      from = at + value.length;
      const replacement = pairValue(name, value);
      if (replacement === undefined) continue;
      out += input.slice(copied, at) + replacement;
      copied = from;
    }
    return copied === 0 ? input : out + input.slice(copied);
  }

  private isSensitiveParam(raw: string): boolean {
    let name = raw;
    if (name.includes('%')) {
      try {
        name = decodeURIComponent(name);
      } catch {
        // A malformed escape is compared as written.
      }
    }
    const normalised = normalise(name);
    return this.queryNames.has(normalised) || this.rules.has(normalised);
  }

  private keyInfo(key: string): KeyInfo {
    const cached = this.keyCache.get(key);
    if (cached !== undefined) return cached;
    const info: KeyInfo = { name: this.maskString(key), rule: this.rules.get(normalise(key)) };
    if (key.length <= KEY_CACHE_MAX_LENGTH) {
      // Keys can come from request bodies: a flood of distinct ones must not grow memory.
      if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.clear();
      this.keyCache.set(key, info);
    }
    return info;
  }

  private censor(rule: KeyRule, value: unknown, key: string): unknown {
    if (value === undefined) return undefined;
    const censor = rule.censor;
    if (censor === undefined) return (rule.card ? cardMaskOf(value) : undefined) ?? REDACTED;
    if (typeof censor === 'string') return censor;
    let result: unknown;
    try {
      result = censor(value, key);
    } catch {
      return REDACTED;
    }
    return typeof result === 'string' ? this.sanitize(result, this.maxStringLength) : result;
  }

  private walk(value: unknown, depth: number, stack: object[]): unknown {
    switch (typeof value) {
      case 'string':
        return this.maskString(value);
      case 'number':
        // 13 digits at least: only then can a number be a card number.
        return value >= 1e12 ? (cardMaskOf(value) ?? value) : value;
      case 'bigint':
        return this.maskString(value.toString());
      case 'function':
      case 'symbol':
        return DROP;
      case 'object':
        return value === null ? null : this.walkObject(value, depth, stack);
      default:
        return value;
    }
  }

  private walkObject(value: object, depth: number, stack: object[]): unknown {
    if (stack.includes(value)) return CIRCULAR;
    if (depth >= this.maxDepth) return TRUNCATED;
    if (Array.isArray(value)) {
      return this.walkArray(value, depth, stack, Object.getPrototypeOf(value) === Array.prototype);
    }
    if (isPlainPrototype(value)) return this.walkRecord(value, depth, stack, true);
    if (value instanceof Error) return this.walkError(value, depth, stack);
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    }
    if (ArrayBuffer.isView(value)) return `[Buffer ${value.byteLength} bytes]`;
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      return `[Buffer ${value.byteLength} bytes]`;
    }
    // Requests, responses, sockets and streams: huge internal state, and the request logger
    // serialises what matters of them itself.
    if (value instanceof EventEmitter) return `[${typeName(value)}]`;
    if (value instanceof Map) return this.walkMap(value, depth, stack);
    if (value instanceof Set) return this.walkArray([...value], depth, stack, false, value);
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      return this.walkJson(value, depth, stack);
    }
    return this.walkRecord(value, depth, stack, false);
  }

  /** What `JSON.stringify` would write for `value`, which has a `toJSON` method, masked. */
  private walkJson(value: object, depth: number, stack: object[]): unknown {
    let json: unknown;
    try {
      json = (value as { toJSON: () => unknown }).toJSON();
    } catch {
      return UNREADABLE;
    }
    if (json === value) return this.walkRecord(value, depth, stack, false, false);
    stack.push(value);
    try {
      return this.walk(json, depth, stack);
    } finally {
      stack.pop();
    }
  }

  private walkRecord(
    value: object,
    depth: number,
    stack: object[],
    share: boolean,
    withToJSON = true,
  ): unknown {
    const record = value as Record<string, unknown>;
    stack.push(value);
    try {
      // A copy is made (by spread, V8's fastest) only once a value differs; then only the
      // values that differ are written into it.
      let out: Record<string, unknown> | undefined = share ? undefined : { ...record };
      // for…in also lists inherited enumerable keys, which a plain object has only when
      // Object.prototype was polluted; the own-key check costs more than the rest of the loop.
      const checkOwn = !share || this.prototypeEnumerable;
      // for…in, not Object.keys(): V8 turns `record[key]` in it into a cached field load.
      for (const key in record) {
        if (checkOwn && !Object.hasOwn(record, key)) continue;
        const item = record[key];
        if (withToJSON && key === 'toJSON' && typeof item === 'function') {
          return this.walkJson(value, depth, stack);
        }
        const info = this.keyInfo(key);
        let masked: unknown;
        if (info.rule !== undefined) masked = this.censor(info.rule, item, key);
        else if (typeof item === 'string') masked = this.maskString(item);
        else if (typeof item === 'object' && item !== null) {
          masked = this.walkObject(item, depth + 1, stack);
        } else masked = this.walk(item, depth + 1, stack);
        if (masked === item && info.name === key) continue;
        out ??= { ...record };
        if (masked === DROP || info.name !== key) delete out[key];
        if (masked !== DROP) setProperty(out, info.name, masked);
      }
      return out ?? value;
    } catch {
      return UNREADABLE;
    } finally {
      stack.pop();
    }
  }

  private walkArray(
    items: readonly unknown[],
    depth: number,
    stack: object[],
    share: boolean,
    owner: object = items,
  ): unknown {
    stack.push(owner);
    try {
      let out: unknown[] | undefined = share ? undefined : [];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const masked = this.walk(item, depth + 1, stack);
        if (out === undefined) {
          if (masked === item) continue;
          out = items.slice(0, i);
        }
        if (masked !== DROP) out.push(masked);
      }
      return out ?? items;
    } catch {
      return UNREADABLE;
    } finally {
      stack.pop();
    }
  }

  private walkMap(map: Map<unknown, unknown>, depth: number, stack: object[]): unknown {
    stack.push(map);
    try {
      const entries = [...map];
      if (entries.every(([key]) => typeof key === 'string' || typeof key === 'number')) {
        const out: Record<string, unknown> = {};
        for (const [key, item] of entries) {
          const name = String(key);
          const info = this.keyInfo(name);
          const masked =
            info.rule === undefined
              ? this.walk(item, depth + 1, stack)
              : this.censor(info.rule, item, name);
          if (masked !== DROP) setProperty(out, info.name, masked);
        }
        return out;
      }
      return entries.map(([key, item]) => {
        const maskedKey = this.walk(key, depth + 1, stack);
        const maskedItem = this.walk(item, depth + 1, stack);
        return [maskedKey === DROP ? null : maskedKey, maskedItem === DROP ? null : maskedItem];
      });
    } catch {
      return UNREADABLE;
    } finally {
      stack.pop();
    }
  }

  private walkError(error: Error, depth: number, stack: object[]): Record<string, unknown> {
    stack.push(error);
    try {
      const source = error as Error & Record<string, unknown>;
      const out: Record<string, unknown> = {
        type: this.maskString(typeName(error)),
        message: this.maskString(String(source.message ?? '')),
      };
      if (typeof source.stack === 'string') out.stack = this.maskString(source.stack);
      for (const key of Object.keys(source)) {
        if (key === 'type' || key === 'message' || key === 'stack' || key === 'cause') continue;
        if (key === 'errors') continue;
        const info = this.keyInfo(key);
        const item = source[key];
        const masked =
          info.rule === undefined
            ? this.walk(item, depth + 1, stack)
            : this.censor(info.rule, item, key);
        if (masked !== DROP) setProperty(out, info.name, masked);
      }
      if (!('code' in out) && source.code !== undefined) {
        const code = this.walk(source.code, depth + 1, stack);
        if (code !== DROP) out.code = code;
      }
      if (Array.isArray(source.errors)) out.errors = this.walk(source.errors, depth + 1, stack);
      if (source.cause !== undefined) {
        const cause = this.walk(source.cause, depth + 1, stack);
        if (cause !== DROP) out.cause = cause;
      }
      return out;
    } catch {
      return { type: UNREADABLE, message: UNREADABLE };
    } finally {
      stack.pop();
    }
  }
}

/** The masked form of a sensitive pair's value, `undefined` when it is masked already. */
function pairValue(name: string, value: string): string | undefined {
  const open = value.startsWith('\\"')
    ? '\\"'
    : value[0] === '"' || value[0] === "'"
      ? value[0]
      : '';
  const closed = open !== '' && value.length >= open.length * 2 && value.endsWith(open);
  const inner = value.slice(open.length, closed ? value.length - open.length : value.length);
  if (inner === REDACTED || inner === '') return undefined;
  const card = CARD_KEYS.has(name) ? cardMaskOf(inner) : undefined;
  return `${open}${card ?? REDACTED}${closed ? open : ''}`;
}

/** `text` cut so that it and the `…[+N chars]` marker fit in `limit` characters. */
function cap(text: string, limit: number, dropped: number): string {
  if (text.length <= limit && dropped === 0) return text;
  const total = text.length + dropped;
  const widest = `…[+${total} chars]`.length;
  if (limit <= widest) return text.slice(0, limit);
  let keep = Math.min(text.length, limit - widest);
  const last = text.charCodeAt(keep - 1);
  // Never split a surrogate pair: half of one is not a character.
  if (last >= 0xd800 && last <= 0xdbff) keep -= 1;
  return `${text.slice(0, keep)}…[+${total - keep} chars]`;
}

/**
 * The pino options that apply `masker` to every line, for `pino(options)`, pino-http or
 * nestjs-pino's `pinoHttp`:
 *
 * - `formatters.log` masks the merged object of each call (the object argument, the mixin),
 *   before pino runs its per-key serializers. `req`/`res` holding anything but a plain object
 *   (pino-http's `IncomingMessage`/`ServerResponse`) are left for their own serializers, which
 *   must mask what they return.
 * - `formatters.bindings` masks `base` (pid, hostname, name). pino 10 runs it for the root only:
 *   `child()` swaps in an identity formatter, so
 * - `onChild` masks each child's bindings once, when the child is made (pino serialises them to
 *   a JSON fragment then: it is parsed, masked and written back).
 * - `serializers.msg` masks the message after `%s` interpolation (and `msgPrefix`): pino applies
 *   the serializer of its message key to it. It assumes the default `messageKey` (`msg`).
 * - `serializers.err` masks an error that reaches it unmasked; it replaces pino's default.
 *
 * @example
 * const logger = pino(maskingPinoOptions(new Masker()));
 * logger.info({ headers: { authorization: 'Bearer x' } }, 'user %s', 'password=y');
 */
export function maskingPinoOptions(masker: Masker): MaskingPinoOptions {
  if (!(masker instanceof Masker)) {
    throw new TypeError('maskingPinoOptions: "masker" must be a Masker');
  }
  return {
    formatters: {
      log(object: Record<string, unknown>): Record<string, unknown> {
        const req = object.req;
        const res = object.res;
        const holdReq = isHttpObject(req);
        const holdRes = isHttpObject(res);
        if (!holdReq && !holdRes) return masker.mask(object) as Record<string, unknown>;
        const rest: Record<string, unknown> = { ...object };
        if (holdReq) delete rest.req;
        if (holdRes) delete rest.res;
        // `rest` is this function's own copy: adding the held keys back mutates nothing of the
        // caller's, whether mask() returned it shared or a new object.
        const masked = masker.mask(rest) as Record<string, unknown>;
        if (holdReq) masked.req = req;
        if (holdRes) masked.res = res;
        return masked;
      },
      bindings(bindings: Record<string, unknown>): Record<string, unknown> {
        return masker.mask(bindings) as Record<string, unknown>;
      },
    },
    onChild(child: unknown): void {
      if (typeof child !== 'object' || child === null) return;
      const holder = child as Record<symbol, unknown>;
      const chindings = holder[CHINDINGS];
      if (typeof chindings !== 'string' || chindings.length < 2) return;
      // A child's bindings are its parent's, already masked (by this hook, or for the root by
      // formatters.bindings), followed by its own: only those are parsed and masked again.
      // Request loggers are made two or three per request, so this is on the hot path.
      const inherited = (Object.getPrototypeOf(child) as Record<symbol, unknown> | null)?.[
        CHINDINGS
      ];
      const prefix =
        typeof inherited === 'string' && chindings.startsWith(inherited) ? inherited : '';
      const own = chindings.slice(prefix.length);
      if (own.length < 2) return;
      try {
        const bindings: unknown = JSON.parse(`{${own.slice(1)}}`);
        const json = JSON.stringify(masker.mask(bindings));
        holder[CHINDINGS] = json.length > 2 ? `${prefix},${json.slice(1, -1)}` : prefix;
      } catch {
        // Not JSON (a custom stringifier): no way to mask it, so none of it is written.
        holder[CHINDINGS] = `${prefix},"bindings":"${REDACTED}"`;
      }
    },
    serializers: {
      err: (value: unknown): unknown => (value instanceof Error ? masker.maskError(value) : value),
      msg: (value: unknown): unknown =>
        typeof value === 'string' ? masker.maskString(value) : masker.mask(value),
    },
  };
}

/** Where pino keeps a logger's serialised bindings (`,"key":value…`). */
const CHINDINGS = pino.symbols.chindingsSym;

function isHttpObject(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !isPlainPrototype(value)
  );
}

/**
 * What {@link maskingPinoOptions} returns: spread it into pino's options (merge `serializers`
 * and `formatters` with your own rather than replacing them).
 *
 * @example
 * const { formatters, serializers } = maskingPinoOptions(masker);
 */
export interface MaskingPinoOptions {
  /** `log` and `bindings` formatters. */
  formatters: {
    log: (object: Record<string, unknown>) => Record<string, unknown>;
    bindings: (bindings: Record<string, unknown>) => Record<string, unknown>;
  };
  /** Masks each child logger's bindings when it is made. */
  onChild: (child: unknown) => void;
  /** `err` and `msg` serializers. */
  serializers: {
    err: (value: unknown) => unknown;
    msg: (value: unknown) => unknown;
  };
}
