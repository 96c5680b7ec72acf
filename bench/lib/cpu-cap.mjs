// Caps the CPU of server children with a Linux cgroup (CFS bandwidth control), so that a server
// is the bottleneck even when a load generator on the other core could not otherwise outrun it:
// with the server held to a fraction of a core, the operations per second it completes are its
// capacity at that budget, whatever the client would have managed. Needs root (or a delegated
// cgroup) and a cpu controller; says why not otherwise, and the caller skips what needed it.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';
/** CFS period, µs: short, so that a capped server is throttled in small slices. */
const PERIOD_US = 20_000;

function controller() {
  const v2 = join(V2_ROOT, 'cgroup.controllers');
  if (existsSync(v2) && readFileSync(v2, 'utf8').split(/\s+/).includes('cpu')) {
    return {
      root: V2_ROOT,
      limit: (dir, quota) => writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`),
    };
  }
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) {
    return {
      root: V1_ROOT,
      limit: (dir, quota) => {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      },
    };
  }
  return undefined;
}

/**
 * Moves the processes `pids` into a new cgroup limited to `cores` of CPU (0 < cores ≤ 1).
 * Resolves to `{ ok: true, cores, release() }` (release moves them back and removes the
 * cgroup; it also runs on exit), or `{ ok: false, reason }` with nothing changed.
 */
export function capCpu(cores, pids) {
  if (!(cores > 0 && cores <= 1)) throw new RangeError('cores must be in (0, 1]');
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  const found = controller();
  if (found === undefined) return { ok: false, reason: 'no cgroup cpu controller found' };
  const dir = join(found.root, `secure-api-bench-${process.pid}`);
  let created = false;
  const release = () => {
    for (const pid of pids) {
      try {
        writeFileSync(join(found.root, 'cgroup.procs'), String(pid));
      } catch {
        // The process is gone: nothing to move back.
      }
    }
    if (created) {
      try {
        rmdirSync(dir);
      } catch {
        // Still busy or already removed; the kernel frees it once empty.
      }
      created = false;
    }
    process.removeListener('exit', release);
  };
  try {
    mkdirSync(dir);
    created = true;
    found.limit(dir, Math.round(PERIOD_US * cores));
    for (const pid of pids) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch (error) {
    release();
    return { ok: false, reason: `${error?.code ?? 'error'}: ${error?.message ?? error}` };
  }
  process.on('exit', release);
  return { ok: true, cores, periodUs: PERIOD_US, release };
}
