import { keySlot, type RedisCluster, startRedisCluster } from './redis-cluster.js';
import { redisCommand } from './redis-server.js';

describe('startRedisCluster', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('serves every slot from three masters on loopback', async () => {
    expect(cluster.urls).toHaveLength(3);
    for (const [index, node] of cluster.nodes.entries()) {
      expect(cluster.urls[index]).toBe(`redis://127.0.0.1:${node.port}`);
      const info = await redisCommand(node.port, ['CLUSTER', 'INFO']);
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_known_nodes:3');
    }
  });

  it('hashes keys as Redis does, hash tags included', async () => {
    const port = cluster.nodes[0]?.port ?? 0;
    for (const key of [
      '',
      'a',
      'rl:{ip:ip:203.0.113.7}',
      'rl:{ip:ip:203.0.113.7}:h',
      '{}x',
      'x{}{y}',
    ]) {
      // Redis's own answer is the reference.
      expect(String(keySlot(key))).toBe(await redisCommand(port, ['CLUSTER', 'KEYSLOT', key]));
    }
    expect(keySlot('rl:{t:k}')).toBe(keySlot('rl:{t:k}:h'));
  });

  it('names the node that serves a key: it takes the write, another redirects it', async () => {
    const key = 'kit:{probe}';
    const owner = cluster.nodeOf(key);
    const other = (owner + 1) % cluster.nodes.length;
    const ownerPort = cluster.nodes[owner]?.port ?? 0;
    const otherPort = cluster.nodes[other]?.port ?? 0;
    expect(await redisCommand(ownerPort, ['SET', key, '1', 'PX', '5000'])).toBe('OK');
    await expect(redisCommand(otherPort, ['GET', key])).rejects.toThrow(/MOVED \d+ 127\.0\.0\.1/);
  });

  it('keeps the other nodes answering while one is down, and takes it back', async () => {
    const node = cluster.nodes[2];
    await node?.stop();
    await expect(cluster.ready(5000)).resolves.toBeUndefined();
    const survivor = cluster.nodes[0]?.port ?? 0;
    const key = Array.from({ length: 100 }, (_, n) => `k${n}`).find(
      (candidate) => cluster.nodeOf(candidate) === 0,
    );
    expect(await redisCommand(survivor, ['SET', key ?? '', '1', 'PX', '5000'])).toBe('OK');
    await node?.restart();
    await cluster.ready(10_000);
    const info = await redisCommand(node?.port ?? 0, ['CLUSTER', 'INFO']);
    expect(info).toContain('cluster_slots_assigned:16384');
  });

  it('picks one candidate per node, and says when a node gets none', () => {
    const picked = cluster.onEachNode(
      Array.from({ length: 100 }, (_, n) => `id-${n}`),
      (id) => `{${id}}`,
    );
    expect(picked.map((id) => cluster.nodeOf(`{${id}}`))).toEqual([0, 1, 2]);
    expect(() => cluster.onEachNode(['only-one'], (id) => id)).toThrow('no candidate');
  });

  it('refuses a number of masters it cannot start', async () => {
    await expect(startRedisCluster({ masters: 0 })).rejects.toThrow('masters');
  });
});
