import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { appendVaryOrigin } from './vary-origin.js';

function response(vary?: string | string[]): ServerResponse {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  if (vary !== undefined) res.setHeader('Vary', vary);
  return res;
}

describe('appendVaryOrigin', () => {
  it.each([
    [undefined, 'Origin'],
    ['Accept-Encoding', 'Accept-Encoding, Origin'],
    [['Accept', 'Accept-Encoding'], 'Accept, Accept-Encoding, Origin'],
    ['origin', 'origin'],
    ['Accept, Origin', 'Accept, Origin'],
    ['*', '*'],
  ])('turns Vary %j into %j', (before, after) => {
    const res = response(before);
    appendVaryOrigin(res);
    expect(res.getHeader('vary')).toBe(after);
  });
});
