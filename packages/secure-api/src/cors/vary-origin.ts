import { type ServerResponse } from 'node:http';

/**
 * Adds `Origin` to the response's `Vary` header, keeping what is there and never twice.
 * The `cors` package adds it only when it allows the origin; a response without
 * `Access-Control-Allow-Origin` varies by `Origin` just as much.
 */
export function appendVaryOrigin(response: ServerResponse): void {
  const current = response.getHeader('vary');
  const fields = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  if (fields.includes('*') || fields.some((field) => field.toLowerCase() === 'origin')) return;
  response.setHeader('Vary', [...fields, 'Origin'].join(', '));
}
