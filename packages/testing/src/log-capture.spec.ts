import { Logger } from '@nestjs/common';
import { createLogCapture } from './log-capture.js';

describe('createLogCapture()', () => {
  it('captures level, message, context and the other params', () => {
    const logs = createLogCapture();
    logs.log('plain');
    logs.warn('with context', 'AuthGuard');
    logs.debug?.('with params', { tenant: 't-1' }, 42, 'Scope');
    logs.verbose?.('verbose');
    logs.fatal?.('fatal', 'Boot');

    expect(logs.entries).toEqual([
      { level: 'log', message: 'plain', params: [] },
      { level: 'warn', message: 'with context', context: 'AuthGuard', params: [] },
      { level: 'debug', message: 'with params', context: 'Scope', params: [{ tenant: 't-1' }, 42] },
      { level: 'verbose', message: 'verbose', params: [] },
      { level: 'fatal', message: 'fatal', context: 'Boot', params: [] },
    ]);
  });

  it('takes the calls Nest Logger makes, context last', () => {
    const logs = createLogCapture();
    Logger.overrideLogger(logs);
    try {
      const error = new Error('boom');
      new Logger('JwtGuard').error('token rejected', error.stack);
      new Logger('JwtGuard').log('ok');
      Logger.warn('static', 'Static');

      expect(logs.entries).toEqual([
        { level: 'error', message: 'token rejected', context: 'JwtGuard', params: [error.stack] },
        { level: 'log', message: 'ok', context: 'JwtGuard', params: [] },
        { level: 'warn', message: 'static', context: 'Static', params: [] },
      ]);
    } finally {
      Logger.overrideLogger(false);
    }
  });

  it('takes the msg of a structured message and keeps the other members as fields', () => {
    const logs = createLogCapture();
    logs.warn({ msg: 'Rate limit hit: tier ip', event: 'rate_limit.hit', tier: 'ip' }, 'SecureApi');
    logs.log({ count: 2 });

    expect(logs.entries).toEqual([
      {
        level: 'warn',
        message: 'Rate limit hit: tier ip',
        fields: { event: 'rate_limit.hit', tier: 'ip' },
        context: 'SecureApi',
        params: [],
      },
      { level: 'log', message: '{"count":2}', params: [] },
    ]);
    expect(logs.find('tier ip')).toHaveLength(1);
  });

  it('does not mistake a stack for the context of an error', () => {
    const logs = createLogCapture();
    const { stack } = new Error('x');
    logs.error('failed', stack);
    expect(logs.entries[0]).toEqual({ level: 'error', message: 'failed', params: [stack] });
  });

  it('text() has one JSON line per entry, errors with message and stack', () => {
    const logs = createLogCapture();
    const cause = new Error('socket closed');
    const error = new TypeError('jwks fetch failed', { cause });
    logs.error(error, 'JwksClient');
    logs.log({ token: 'eyJ.secret', count: 10n }, 'Audit');

    const lines = logs.text().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(first).toEqual({
      level: 'error',
      message: {
        name: 'TypeError',
        message: 'jwks fetch failed',
        stack: error.stack,
        cause: { name: 'Error', message: 'socket closed', stack: cause.stack },
      },
      context: 'JwksClient',
      params: [],
    });
    expect(logs.text()).toContain('eyJ.secret');
    expect(logs.entries[1]?.message).toBe('{"token":"eyJ.secret","count":"10n"}');
  });

  it('text() serialises errors in params, and survives cycles', () => {
    const logs = createLogCapture();
    const error = new Error('inner');
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    logs.warn('problem', error, cyclic, 'Ctx');

    const line = JSON.parse(logs.text()) as { params: unknown[] };
    expect(line.params).toEqual([
      { name: 'Error', message: 'inner', stack: error.stack },
      { name: 'loop', self: '[Circular]' },
    ]);
  });

  it('find() matches messages by substring or RegExp, and clear() empties', () => {
    const logs = createLogCapture();
    logs.log('token accepted');
    logs.warn('token rejected: expired');
    logs.warn('other', 'token');

    expect(logs.find('rejected').map((entry) => entry.level)).toEqual(['warn']);
    expect(logs.find(/^token/g)).toHaveLength(2);
    expect(logs.find(/^token/g)).toHaveLength(2);

    logs.clear();
    expect(logs.entries).toEqual([]);
    expect(logs.text()).toBe('');
  });
});
