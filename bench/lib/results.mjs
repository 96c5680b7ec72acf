// The table a runner prints and the results JSON it writes to bench/results/.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, warn } from './cli.mjs';
import { BENCH_DIR } from './machine.mjs';

export const RESULTS_DIR = join(BENCH_DIR, 'results');

/** `2026-12-01T08:41:08.123Z` → `2026-12-01T08-41-08Z`, for file names. */
export function fileStamp(isoTime) {
  return isoTime.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/**
 * Writes `report` as `<name>.json` and, unless it is a smoke test (`quick`), as `<latest>.json`
 * too, each through a temporary file. Returns the file names written.
 */
export function writeResults(report, { name, latest, quick }) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const write = (file) => {
    const temporary = join(RESULTS_DIR, `${file}.tmp.json`);
    writeFileSync(temporary, text);
    renameSync(temporary, join(RESULTS_DIR, file));
  };
  const files = [`${name}.json`];
  // A smoke test is not a figure anyone should quote.
  if (!quick && latest) files.push(`${latest}.json`);
  for (const file of files) write(file);
  log(`wrote ${files.map((file) => `bench/results/${file}`).join(', ')}`);
  return files;
}

/** Prints a table of left-aligned columns between two blank lines. */
export function printTable(header, rows) {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => String(row[column]).length)),
  );
  const line = (cells) =>
    cells.map((cell, column) => String(cell).padEnd(widths[column])).join('  ');
  log('');
  log(line(header));
  log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) log(line(row));
  log('');
}

/**
 * The `summary` entry of one A/B comparison: `identity` (adapter, …), then A's and B's median
 * req/s as `<a>ReqPerSec` and `<b>ReqPerSec`, then the ratio, the added µs, target, pass, valid.
 */
export function summaryEntry(result, identity, a, b) {
  return {
    ...identity,
    [`${a}ReqPerSec`]: result[a].median.reqPerSec,
    [`${b}ReqPerSec`]: result[b].median.reqPerSec,
    ratio: result.ratio,
    addedMicrosPerRequest: result.addedMicrosPerRequest,
    target: result.target,
    pass: result.pass,
    valid: result.valid,
  };
}

/**
 * Writes the report (see writeResults) and, if it is not valid, says so and sets exit code 1:
 * answers other than 2xx make the figures wrong. A missed target is a figure, not a failure.
 */
export function finishRun(report, files) {
  writeResults(report, files);
  if (!report.valid) {
    warn('INVALID run: some measured requests got non-2xx answers, errors or timeouts');
    process.exitCode = 1;
  }
}
