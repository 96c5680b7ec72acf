/** A response body stream, as undici gives it. */
export interface BodyStream extends AsyncIterable<Uint8Array> {
  destroy(error?: Error): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Stops a body without reading it: undici then closes the connection rather than drain an
 * unwanted, possibly endless, body. undici emits its `RequestAbortedError` on the stream; the
 * listener keeps it from being unhandled.
 */
export function discardBody(body: BodyStream): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** What {@link readBody} read. */
export interface ReadBody {
  /** The bytes read, at most `limit`. */
  readonly data: Buffer;
  /** `true` when the body went on past `limit`; the stream was then destroyed. */
  readonly truncated: boolean;
}

/**
 * Reads a body up to `limit` bytes and stops as soon as the count crosses it: the stream is
 * destroyed (with undici, so is the connection), so that an upstream cannot make the client
 * buffer more than the limit, whatever `Content-Length` said.
 */
export async function readBody(body: BodyStream, limit: number): Promise<ReadBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (size + bytes.byteLength > limit) {
      chunks.push(bytes.subarray(0, limit - size));
      discardBody(body);
      return { data: Buffer.concat(chunks, limit), truncated: true };
    }
    size += bytes.byteLength;
    chunks.push(bytes);
  }
  return { data: Buffer.concat(chunks, size), truncated: false };
}

/**
 * The `Content-Length` a response announces, or `undefined` when absent or not one decimal
 * number (RFC 9110 §8.6; a list of equal values is left to undici's parser, which refuses it).
 */
export function declaredLength(value: string | readonly string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
