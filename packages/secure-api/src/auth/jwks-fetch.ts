/** Limits of one key-set or discovery request. */
export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Aborts every fetch under way when the app shuts down. */
  readonly shutdown?: AbortSignal;
}

/**
 * GETs a JSON document with a timeout and a size cap, following no redirects: the URL comes
 * from configuration or from the issuer's metadata, and a redirect is where a key-set request
 * would quietly start trusting another host.
 */
export async function fetchJson(url: string, limits: FetchLimits): Promise<unknown> {
  const response = await fetch(url, {
    method: 'GET',
    headers: { accept: 'application/json, application/jwk-set+json' },
    redirect: 'error',
    signal: limits.shutdown
      ? AbortSignal.any([AbortSignal.timeout(limits.timeoutMs), limits.shutdown])
      : AbortSignal.timeout(limits.timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await response.body?.cancel();
    throw new Error(`GET ${url} is larger than ${limits.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        throw new Error(`GET ${url} is larger than ${limits.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new Error(`GET ${url} did not return JSON`);
  }
}
