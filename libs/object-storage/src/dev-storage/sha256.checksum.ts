import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * SHA-256 / HMAC-SHA-256 on `node:crypto`, in the shape `@smithy/signature-v4` expects (the
 * SDK's own implementation lives in a package this library does not depend on).
 */
export class Sha256Checksum {
  private hash: Hash | Hmac;

  /** @param secret HMAC key; plain SHA-256 without it */
  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }

  /** @param data bytes to add */
  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  /** @returns the digest of everything added since the last reset */
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  /** Starts over. */
  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBuffer(this.secret));
  }
}
