import { Readable } from 'node:stream';
import { declaredLength, readBody } from './response-body.reader.js';

function stream(chunks: string[]): Readable & { pulled: () => number } {
  let pulled = 0;
  const readable = Readable.from(
    (function* () {
      for (const chunk of chunks) {
        pulled += 1;
        yield Buffer.from(chunk);
      }
    })(),
  );
  return Object.assign(readable, { pulled: () => pulled });
}

describe('readBody()', () => {
  it('reads a body up to and including the limit', async () => {
    const { data, truncated } = await readBody(stream(['ab', 'cd']), 4);
    expect([data.toString(), truncated]).toEqual(['abcd', false]);
  });

  it('stops at the chunk that crosses the limit and destroys the stream', async () => {
    const body = stream(['ab', 'cde', 'never', 'read']);

    const { data, truncated } = await readBody(body, 4);

    expect([data.toString(), truncated]).toEqual(['abcd', true]);
    expect(body.destroyed).toBe(true);
    expect(body.pulled()).toBeLessThan(4);
  });

  it('reads an empty body', async () => {
    expect((await readBody(stream([]), 0)).data.length).toBe(0);
  });
});

describe('declaredLength()', () => {
  it.each([
    ['12', 12],
    [' 7 ', 7],
    ['0', 0],
    [undefined, undefined],
    ['-1', undefined],
    ['1e3', undefined],
    ['12, 12', undefined],
    [['1', '2'], undefined],
  ])('reads %j as %j', (value, expected) => {
    expect(declaredLength(value)).toBe(expected);
  });
});
