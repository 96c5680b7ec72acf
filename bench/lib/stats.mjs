// Medians and the figures derived from interleaved A/B rounds.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Medians of one route's measured rounds, and the sums of what went wrong in them. */
export function summarise(rounds) {
  return {
    reqPerSec: round(median(rounds.map((r) => r.reqPerSec)), 1),
    latencyP50Ms: median(rounds.map((r) => r.latencyMs.p50)),
    latencyP99Ms: median(rounds.map((r) => r.latencyMs.p99)),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    timeouts: rounds.reduce((sum, r) => sum + r.timeouts, 0),
    serverCores: median(rounds.map((r) => r.cpuCores.server ?? NaN)),
    loadGeneratorCores: median(rounds.map((r) => r.cpuCores.loadGenerator)),
    otherCores: median(rounds.map((r) => r.cpuCores.other ?? NaN)),
  };
}

/** Non-2xx answers, socket errors and timeouts of a round or a summary. */
export function failures(result) {
  return result.non2xx + result.errors + result.timeouts;
}

/**
 * B against A, from their summaries and their rounds (taken in pairs, a few seconds apart):
 *
 * - `ratio`: median(B req/s) ÷ median(A req/s), the headline figure;
 * - `medianRoundRatio`: the median of the per-round B/A ratios, a check on it;
 * - `addedMicrosPerRequest`: 10⁶/B − 10⁶/A. With the server saturating its one core,
 *   1 / req/s is its CPU time per request; the difference is what B adds to each request.
 */
export function compare(a, b) {
  return {
    ratio: round(b.median.reqPerSec / a.median.reqPerSec, 3),
    medianRoundRatio: round(
      median(b.rounds.map((r, index) => r.reqPerSec / (a.rounds[index]?.reqPerSec ?? NaN))),
      3,
    ),
    addedMicrosPerRequest: round(1e6 / b.median.reqPerSec - 1e6 / a.median.reqPerSec, 1),
  };
}
