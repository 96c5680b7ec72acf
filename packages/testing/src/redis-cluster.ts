import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisCommand, type RedisServer, startRedisServer } from './redis-server.js';

/** A Redis Cluster of `redis-server` children on loopback, started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** `redis://127.0.0.1:<port>` of every node, in the order of {@link nodes}. */
  readonly urls: readonly string[];
  /**
   * The nodes, each a master holding an equal share of the 16 384 slots in order (node 0 the
   * lowest). `stop()` one to take its slots away; `restart()` brings it back, empty, with its
   * slots (it rereads its `nodes.conf`).
   */
  readonly nodes: readonly RedisServer[];
  /** Index in {@link nodes} of the node that serves `key` (by its hash tag, as Redis does). */
  nodeOf(key: string): number;
  /**
   * One candidate per node, in node order: for each node the first of `candidates` whose
   * `keyOf(candidate)` it serves. Throws when some node gets none.
   *
   * @example cluster.onEachNode(['a', 'b', 'c', 'd', 'e'], (id) => `rl:{ip:${id}}`)
   */
  onEachNode<T>(candidates: Iterable<T>, keyOf: (candidate: T) => string): T[];
  /** Waits until every running node reports `cluster_state:ok` and knows every node. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /**
   * Number of masters; no replicas (a stopped node's slots have no one to fail over to).
   *
   * @default 3
   */
  masters?: number;
  /**
   * The `redis-server` binary.
   *
   * @default 'redis-server'
   */
  command?: string;
  /**
   * Longest wait for the cluster to reach `cluster_state:ok`, milliseconds.
   *
   * @default 15000
   */
  startTimeoutMs?: number;
}

const SLOTS = 16_384;

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/**
 * The slot of a key, by Redis's rule: of what is between its first `{` and the next `}` when that
 * is not empty (the hash tag), else of the whole key.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed, 'utf8')) % SLOTS;
}

function slotRanges(masters: number): [number, number][] {
  const size = Math.ceil(SLOTS / masters);
  return Array.from({ length: masters }, (_, index) => [
    index * size,
    Math.min(SLOTS, (index + 1) * size) - 1,
  ]);
}

/**
 * Starts a Redis Cluster of `masters` nodes on free loopback ports (persistence off,
 * `cluster-require-full-coverage no` so that the other nodes keep answering while one is down,
 * a 1 s node timeout), assigns the slots and joins the nodes with `CLUSTER MEET`, and resolves
 * once every node says `cluster_state:ok`. Needs only `redis-server` (no `redis-cli`).
 *
 * @example
 * const cluster = await startRedisCluster();
 * const storage = new RedisThrottlerStorage({ cluster: cluster.urls });
 * await cluster.nodes[cluster.nodeOf('{ip:203.0.113.7}')].stop(); // that key's node is down
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const { masters = 3, command = 'redis-server', startTimeoutMs = 15_000 } = options;
  if (!Number.isInteger(masters) || masters < 1 || masters > 16) {
    throw new TypeError('masters must be an integer from 1 to 16');
  }
  const dir = await mkdtemp(join(tmpdir(), 'secure-api-redis-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  const running = new Set<number>();
  const ready = async (timeoutMs = startTimeoutMs): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        nodes.map((node, index) =>
          running.has(index)
            ? redisCommand(node.port, ['CLUSTER', 'INFO']).catch(() => '')
            : Promise.resolve(`cluster_state:ok\r\ncluster_known_nodes:${nodes.length}\r\n`),
        ),
      );
      // Every running node says the slots are served and knows every node (gossip can take a
      // moment after `CLUSTER MEET`: a node may be ok before it has heard of the third).
      const known = `cluster_known_nodes:${nodes.length}\r\n`;
      if (states.every((info) => info.includes('cluster_state:ok') && info.includes(known))) return;
      if (Date.now() > deadline) {
        throw new Error(`the Redis Cluster did not reach cluster_state:ok in ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    for (let index = 0; index < masters; index += 1) {
      const node = await startRedisServer({
        command,
        dir,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${index}.conf`,
          '--cluster-node-timeout',
          '1000',
          '--cluster-require-full-coverage',
          'no',
        ],
      });
      nodes.push(tracked(node, index, running));
      running.add(index);
    }
    const ranges = slotRanges(masters);
    for (const [index, node] of nodes.entries()) {
      const [first, last] = ranges[index] as [number, number];
      const slots = Array.from({ length: last - first + 1 }, (_, offset) => String(first + offset));
      await redisCommand(node.port, ['CLUSTER', 'ADDSLOTS', ...slots]);
    }
    const [seed, ...others] = nodes;
    for (const node of others) {
      await redisCommand(node.port, ['CLUSTER', 'MEET', '127.0.0.1', String(seed?.port)]);
    }
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  const ranges = slotRanges(masters);
  const nodeOf = (key: string): number => {
    const slot = keySlot(key);
    return ranges.findIndex(([first, last]) => slot >= first && slot <= last);
  };
  return {
    urls: nodes.map((node) => node.url),
    nodes,
    nodeOf,
    onEachNode: <T>(candidates: Iterable<T>, keyOf: (candidate: T) => string): T[] => {
      const found = new Map<number, T>();
      for (const candidate of candidates) {
        const node = nodeOf(keyOf(candidate));
        if (!found.has(node)) found.set(node, candidate);
        if (found.size === nodes.length) break;
      }
      if (found.size < nodes.length) throw new Error('no candidate for every node');
      return nodes.map((_, index) => found.get(index) as T);
    },
    ready,
    stop,
  };
}

/** The node, with {@link RedisCluster.ready} knowing whether it is meant to be running. */
function tracked(node: RedisServer, index: number, running: Set<number>): RedisServer {
  return {
    ...node,
    stop: async () => {
      running.delete(index);
      await node.stop();
    },
    restart: async () => {
      await node.restart();
      running.add(index);
    },
  };
}
