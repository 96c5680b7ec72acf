import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';

/** A `redis-server` child process on loopback, started by {@link startRedisServer}. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL: nothing to save, persistence is off). Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the server if running and starts a new, empty one on the same port. */
  restart(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is answered, which is how a
   * hung or overloaded Redis looks to a client. {@link resume} or {@link stop} ends it.
   */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /**
   * The `redis-server` binary.
   *
   * @default 'redis-server'
   */
  command?: string;
  /**
   * Longest wait for the server to answer `PING`, milliseconds.
   *
   * @default 5000
   */
  startTimeoutMs?: number;
  /**
   * Its working directory (`--dir`): where a cluster node keeps its `nodes.conf`.
   *
   * @default os.tmpdir()
   */
  dir?: string;
  /** More `redis-server` arguments, after the kit's own (`['--cluster-enabled', 'yes']`). */
  args?: readonly string[];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

/** One RESP command on a fresh connection; resolves to the reply's text (`OK`, `42`, a bulk string). */
export function redisCommand(
  port: number,
  args: readonly string[],
  timeoutMs = 2000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`redis :${port} did not answer ${args[0]}`)));
    socket.once('error', fail);
    socket.once('connect', () => {
      const parts = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const end = reply.indexOf('\r\n');
      if (end === -1) return;
      const head = reply.subarray(0, end).toString('latin1');
      if (head.startsWith('-'))
        return fail(new Error(`redis :${port} ${args[0]}: ${head.slice(1)}`));
      if (!head.startsWith('$')) {
        // A simple string (`+OK`) or an integer (`:42`): its text.
        socket.destroy();
        return resolve(head.slice(1));
      }
      const length = Number(head.slice(1));
      if (reply.length < end + 2 + length + 2) return;
      socket.destroy();
      resolve(reply.subarray(end + 2, end + 2 + length).toString('utf8'));
    });
  });
}

/** Whether a Redis on `port` answers `PING` with `+PONG` within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return redisCommand(port, ['PING'], timeoutMs).then(
    (reply) => reply === 'PONG',
    () => false,
  );
}

/**
 * Starts `redis-server` on a free loopback port with persistence off (`--save ''
 * --appendonly no`), and resolves once it answers `PING`. For tests that need a Redis of their
 * own, e.g. to kill it in the middle of a run; the raw-TCP `PING` keeps this kit free of a Redis
 * client dependency.
 *
 * The child is killed on {@link RedisServer.stop} and, as a last resort, when the test process
 * exits.
 *
 * @example
 * const redis = await startRedisServer();
 * const storage = new RedisThrottlerStorage({ url: redis.url });
 * await redis.stop(); // Redis is down
 * await redis.restart(); // back, empty, same port
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const { command = 'redis-server', startTimeoutMs = 5000, dir = tmpdir(), args = [] } = options;
  const port = await freePort();
  let child: ChildProcess | undefined;

  const kill = (): void => {
    child?.kill('SIGKILL');
  };

  const start = async (): Promise<void> => {
    const proc = spawn(
      command,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--loglevel',
        'warning',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-2000);
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    let exited = false;
    let spawnError: Error | undefined;
    proc.once('error', (error) => {
      spawnError = error;
      exited = true;
    });
    proc.once('exit', () => {
      exited = true;
    });
    process.once('exit', kill);

    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !exited) {
      if (await ping(port, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    proc.kill('SIGKILL');
    process.removeListener('exit', kill);
    const why = spawnError?.message ?? (exited ? 'it exited' : `no PONG in ${startTimeoutMs} ms`);
    throw new Error(
      `redis-server did not start on 127.0.0.1:${port} (${why}). Is "${command}" installed?` +
        (output === '' ? '' : ` Its output:\n${output}`),
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    process.removeListener('exit', kill);
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
  };
}
