import { connect } from 'node:net';
import { type RedisServer, startRedisServer } from './redis-server.js';

/** The first line a raw `PING` gets back, or the socket error's code. */
function rawPing(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.trim());
      }
    });
  });
}

describe('startRedisServer', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedisServer();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('answers PING on a loopback port given in its URL', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await rawPing(redis.port)).toBe('+PONG');
  });

  it('stops answering on stop() and answers again, on the same port, after restart()', async () => {
    await redis.stop();
    expect(await rawPing(redis.port)).toBe('ECONNREFUSED');
    await redis.restart();
    expect(await rawPing(redis.port)).toBe('+PONG');
  });

  it('does not answer while paused', async () => {
    redis.pause();
    try {
      expect(await rawPing(redis.port)).toBe('timeout');
    } finally {
      redis.resume();
    }
    expect(await rawPing(redis.port)).toBe('+PONG');
  });

  it('says what went wrong when the binary is missing', async () => {
    await expect(
      startRedisServer({ command: 'no-such-redis-server', startTimeoutMs: 500 }),
    ).rejects.toThrow(
      /^redis-server did not start on 127\.0\.0\.1:\d+ \(spawn no-such-redis-server ENOENT\)/,
    );
  });
});
