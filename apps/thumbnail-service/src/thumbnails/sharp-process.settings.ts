import sharp from 'sharp';

/**
 * The only libvips loaders left usable in this process: JPEG, PNG (libspng and libpng), WebP,
 * GIF (nsgif and the fallback) and HEIF (AVIF; HEVC is not in sharp's prebuilt libvips), all
 * from memory. Every other loader (SVG, PDF, TIFF, RAW, …, and every file loader) is blocked,
 * so even an upload that bypassed `ImageInspector` cannot reach them.
 */
export const ALLOWED_LIBVIPS_LOADERS: readonly string[] = Object.freeze([
  'VipsForeignLoadJpegBuffer',
  'VipsForeignLoadPngBuffer',
  'VipsForeignLoadWebpBuffer',
  'VipsForeignLoadNsgifBuffer',
  'VipsForeignLoadGifBuffer',
  'VipsForeignLoadHeifBuffer',
]);

let applied = false;

/**
 * Applies the process-wide libvips settings the thumbnail code relies on; idempotent. Called when
 * `image.inspector.ts` or `thumbnail.renderer.ts` is first imported, so nothing else has to.
 *
 * - `sharp.cache(false)`: libvips would otherwise keep recent operations and their decoded
 *   images (up to 50 MB, 100 operations) for reuse; a service never renders the same upload
 *   twice in a row, so the cache only holds memory the job limiter does not count.
 * - `sharp.concurrency(1)`: one libvips worker thread per image. Parallelism comes from running
 *   several jobs (`ImageJobLimiter`, one per CPU by default), so N jobs use N threads, not
 *   N × CPUs. sharp's jobs also run on the libuv pool (`UV_THREADPOOL_SIZE`, default 4), which
 *   caps how many render at the same moment; the rest wait inside sharp, still inside the limiter.
 * - loaders: every libvips loader blocked except {@link ALLOWED_LIBVIPS_LOADERS}.
 */
export function applySharpProcessSettings(): void {
  if (applied) {
    return;
  }
  sharp.cache(false);
  sharp.concurrency(1);
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: [...ALLOWED_LIBVIPS_LOADERS] });
  applied = true;
}

applySharpProcessSettings();
