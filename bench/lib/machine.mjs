// What the results say about the machine and the installed versions, and the machine's load
// (Linux /proc/stat; elsewhere unknown, and no gating).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.mjs';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);

/** Version of an installed package, looked up where Node would find it from our packages. */
export function packageVersion(name, nearPackages = []) {
  const candidates = [
    ...nearPackages.map((near) => join(ROOT, 'node_modules', near, 'node_modules', name)),
    join(ROOT, 'packages', 'secure-api', 'node_modules', name),
    join(ROOT, 'node_modules', name),
  ];
  for (const directory of candidates) {
    const file = join(directory, 'package.json');
    if (existsSync(file)) {
      return /** @type {{ version: string }} */ (JSON.parse(readFileSync(file, 'utf8'))).version;
    }
  }
  return null;
}

/**
 * Versions of the packages a benchmark depends on: each entry is a name, or `[name, [near…]]`
 * for a package usually installed under another one's node_modules.
 */
export function describeVersions(packages) {
  return Object.fromEntries(
    packages.map((entry) => {
      const [name, near] = Array.isArray(entry) ? entry : [entry, []];
      return [name, packageVersion(name, near)];
    }),
  );
}

/** The stack every benchmark of the module runs on. */
export const NEST_PACKAGES = Object.freeze([
  '@secure-api/nestjs',
  '@nestjs/core',
  '@nestjs/common',
  '@nestjs/passport',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  ['express', ['@nestjs/platform-express']],
  ['fastify', ['@nestjs/platform-fastify']],
]);

export function describeMachine() {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()}`,
    platform: os.platform(),
    arch: os.arch(),
    cpus: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
  };
}

/** CPU time the whole machine spent in user, nice and system mode, in µs; null off Linux. */
export function machineCpuMicros() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [label, user, nice, system] = line.trim().split(/\s+/);
    if (label !== 'cpu') return null;
    // /proc/stat counts in USER_HZ, which is 100 on every Linux build Node supports.
    return (Number(user) + Number(nice) + Number(system)) * 10_000;
  } catch {
    return null;
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits, at most config.quietWaitSeconds, for a second in which the machine is nearly idle. */
export async function awaitQuiet(config) {
  const started = Date.now();
  let busyCores = null;
  while (Date.now() - started < config.quietWaitSeconds * 1000) {
    const before = machineCpuMicros();
    const wallStarted = process.hrtime.bigint();
    await sleep(1_000);
    const after = machineCpuMicros();
    if (before === null || after === null) return { waitedSeconds: 0, busyCores: null };
    busyCores = round((after - before) / (Number(process.hrtime.bigint() - wallStarted) / 1000), 2);
    if (busyCores < config.quietBelowCores) break;
  }
  return { waitedSeconds: round((Date.now() - started) / 1000, 1), busyCores };
}

/**
 * What was measured: the checkout's commit, whether the package's sources differ from it, and
 * when the built package (what the servers import) was written.
 */
export function describeRevision() {
  const git = (...args) => {
    const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 5_000 });
    return result.status === 0 ? result.stdout.trim() : null;
  };
  const changed = git('status', '--porcelain', '--', 'packages/secure-api/src');
  const built = join(ROOT, 'packages', 'secure-api', 'dist', 'index.js');
  return {
    commit: git('rev-parse', 'HEAD'),
    packageSourcesChanged: changed === null ? null : changed.split('\n').filter(Boolean).length,
    packageBuiltAt: existsSync(built) ? statSync(built).mtime.toISOString() : null,
  };
}
