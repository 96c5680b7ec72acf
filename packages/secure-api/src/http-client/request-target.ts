import { HttpClientUrlRefusedError, type OutboundTarget } from './http-client.errors.js';

/** One query parameter value; `undefined` and `null` leave the parameter out. */
export type QueryValue = string | number | boolean;

/** Query parameters appended to the URL; an array repeats the parameter. */
export type QueryParameters = Readonly<
  Record<string, QueryValue | readonly QueryValue[] | null | undefined>
>;

/** Where a request goes, checked. */
export interface RequestTarget extends OutboundTarget {
  /** Path and query string, as sent on the request line. */
  readonly pathAndQuery: string;
}

/** What {@link resolveRequestTarget} checks against. */
export interface TargetPolicy {
  readonly baseUrl: URL | undefined;
  readonly allowedOrigins: ReadonlySet<string> | '*';
  readonly allowInsecureHttp: boolean;
}

const UNPARSED = 'unparsed';

/**
 * Builds and checks the URL of a request: `url` (absolute) or `path` (under `baseUrl`), plus
 * `query`. Refuses, before any traffic, an origin outside `allowedOrigins` (SSRF), a scheme
 * other than `https:` (or `http:` with `allowInsecureHttp`), credentials in the URL, and a path
 * that leaves the base path (`/v1` + `/../admin`). The refused URL is never quoted whole: its
 * query string may hold secrets.
 *
 * @throws HttpClientUrlRefusedError
 */
export function resolveRequestTarget(
  method: string,
  input: {
    url?: string | undefined;
    path?: string | undefined;
    query?: QueryParameters | undefined;
  },
  policy: TargetPolicy,
): RequestTarget {
  const unknownTarget = { method, origin: `(${UNPARSED} URL)`, path: '' };
  let url: URL;
  if ((input.url === undefined) === (input.path === undefined)) {
    throw new HttpClientUrlRefusedError(unknownTarget, 'give exactly one of "url" and "path"');
  }
  if (input.path !== undefined) {
    url = underBase(method, input.path, policy.baseUrl, unknownTarget);
  } else {
    const parsed = URL.parse(String(input.url));
    if (parsed === null) {
      throw new HttpClientUrlRefusedError(unknownTarget, '"url" is not an absolute URL');
    }
    url = parsed;
  }
  // Opaque origins (file:, data:) serialise as "null", which would make a confusing message.
  const origin = url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
  const target = { method, origin, path: url.pathname };
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecureHttp)) {
    throw new HttpClientUrlRefusedError(
      target,
      url.protocol === 'http:'
        ? 'http: is not allowed (only https:, unless "httpClient.allowInsecureHttp" is set)'
        : `the scheme ${url.protocol} is not supported`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new HttpClientUrlRefusedError(target, 'the URL holds credentials; send them in a header');
  }
  if (policy.allowedOrigins !== '*' && !policy.allowedOrigins.has(url.origin)) {
    throw new HttpClientUrlRefusedError(
      target,
      `the origin ${url.origin} is not in "httpClient.allowedOrigins"`,
    );
  }
  url.hash = '';
  appendQuery(url, input.query, target);
  return { ...target, pathAndQuery: `${url.pathname}${url.search}` };
}

function underBase(
  method: string,
  path: string,
  baseUrl: URL | undefined,
  unknownTarget: OutboundTarget,
): URL {
  if (baseUrl === undefined) {
    throw new HttpClientUrlRefusedError(
      unknownTarget,
      '"path" needs "httpClient.baseUrl"; pass an absolute "url" instead',
    );
  }
  const basePath = baseUrl.pathname === '/' ? '' : baseUrl.pathname;
  const baseTarget = { method, origin: baseUrl.origin, path: basePath };
  // Backslashes become slashes in special URLs, and "//host" is authority syntax: both are
  // ways out of the base that a raw string join would not show.
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new HttpClientUrlRefusedError(baseTarget, '"path" must start with a single "/"');
  }
  if (path.includes('\\') || path.includes('#')) {
    throw new HttpClientUrlRefusedError(baseTarget, '"path" must not hold "\\" or "#"');
  }
  const url = URL.parse(`${baseUrl.origin}${basePath}${path}`);
  if (url === null || url.origin !== baseUrl.origin) {
    throw new HttpClientUrlRefusedError(baseTarget, '"path" does not make a URL under baseUrl');
  }
  // The parser resolves "..", "%2e%2e" and the like; what it made must still be under the base.
  if (basePath !== '' && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
    throw new HttpClientUrlRefusedError(
      { ...baseTarget, path: url.pathname },
      `"path" leaves the base path ${basePath}`,
    );
  }
  return url;
}

function appendQuery(url: URL, query: QueryParameters | undefined, target: OutboundTarget): void {
  if (query === undefined) return;
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new HttpClientUrlRefusedError(target, '"query" must be an object');
  }
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const values: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        throw new HttpClientUrlRefusedError(
          target,
          `query parameter "${name}" must be a string, number or boolean`,
        );
      }
      url.searchParams.append(name, String(item));
    }
  }
}
