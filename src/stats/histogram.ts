/**
 * A fine histogram in log space, for simulated latencies: the benchmark needs the sample p95 of
 * each arm and the count above a threshold at every check (96 a day for 14 days, thousands of
 * runs), and re-sorting every latency at every check would cost more than the decision itself.
 *
 * Values are quantized to the centre of their bin: bin b holds log-values in
 * [lo + b w, lo + (b + 1) w) and stands for exp(lo + (b + 0.5) w). With w = 0.005 that is a
 * relative resolution of 0.5%, far below anything a guardrail margin (25%) cares about. Every
 * figure below is then exact for the quantized values, computed the way SQL computes it on them
 * (percentile_cont, count(*) filter (where latency > threshold)).
 *
 * Cursors keep a running "count at or below bin c"; a quantile or a threshold moves only a few
 * bins between checks, so keeping them up to date costs O(new values + bins moved) per check.
 */

/** Bin width in natural-log units (0.5% relative). */
export const LOG_BIN_WIDTH = 0.005;

/** A histogram over log-values with a fixed range; values outside it land in the edge bins. */
export interface LogHistogram {
  /** Log-value of the lower edge of bin 0. */
  lo: number;
  width: number;
  counts: Int32Array;
  total: number;
  cursors: Cursor[];
}

/** Running count of values in bins 0..bin (bin -1: none). */
export interface Cursor {
  bin: number;
  atOrBelow: number;
}

/** An empty histogram covering log-values [lo, hi). */
export function logHistogram(lo: number, hi: number, width = LOG_BIN_WIDTH): LogHistogram {
  const bins = Math.max(1, Math.ceil((hi - lo) / width));
  return { lo, width, counts: new Int32Array(bins), total: 0, cursors: [] };
}

/** Bin holding a log-value (clamped to the range). */
export function binOf(h: LogHistogram, logValue: number): number {
  const bin = Math.floor((logValue - h.lo) / h.width);
  return bin < 0 ? 0 : bin >= h.counts.length ? h.counts.length - 1 : bin;
}

/** The value a bin stands for (its centre, back from log space). */
export function binValue(h: LogHistogram, bin: number): number {
  return Math.exp(h.lo + (bin + 0.5) * h.width);
}

/** Counts one value (by its bin) and keeps every cursor's running count right. */
export function addToBin(h: LogHistogram, bin: number): void {
  h.counts[bin]! += 1;
  h.total += 1;
  for (const cursor of h.cursors) if (bin <= cursor.bin) cursor.atOrBelow += 1;
}

/** A new cursor (before bin 0) that addToBin keeps up to date. */
export function addCursor(h: LogHistogram): Cursor {
  const cursor: Cursor = { bin: -1, atOrBelow: 0 };
  h.cursors.push(cursor);
  return cursor;
}

/** Moves a cursor to `bin` (clamped to -1..bins-1) and returns the count at or below it. */
export function moveTo(h: LogHistogram, cursor: Cursor, bin: number): number {
  const target = Math.max(-1, Math.min(h.counts.length - 1, bin));
  while (cursor.bin < target) {
    cursor.bin += 1;
    cursor.atOrBelow += h.counts[cursor.bin]!;
  }
  while (cursor.bin > target) {
    cursor.atOrBelow -= h.counts[cursor.bin]!;
    cursor.bin -= 1;
  }
  return cursor.atOrBelow;
}

/** Moves a cursor to the bin of the rank-th smallest value (1-based; requires 1 <= rank <= total). */
function moveToRank(h: LogHistogram, cursor: Cursor, rank: number): number {
  while (cursor.atOrBelow < rank) {
    cursor.bin += 1;
    cursor.atOrBelow += h.counts[cursor.bin]!;
  }
  while (cursor.bin > 0 && cursor.atOrBelow - h.counts[cursor.bin]! >= rank) {
    cursor.atOrBelow -= h.counts[cursor.bin]!;
    cursor.bin -= 1;
  }
  return cursor.bin;
}

/** First non-empty bin after `bin` (there is one whenever a larger rank exists). */
function nextFilledBin(h: LogHistogram, bin: number): number {
  let next = bin + 1;
  while (h.counts[next] === 0) next += 1;
  return next;
}

/**
 * percentile_cont(q) of the quantized values: the value at 0-based position q (n - 1) of the
 * sorted values, interpolating linearly between its two neighbours; null when empty. Uses the
 * cursor, so successive calls with slowly moving quantiles are cheap.
 */
export function quantileWithCursor(h: LogHistogram, cursor: Cursor, q: number): number | null {
  if (h.total === 0) return null;
  const position = q * (h.total - 1);
  const below = Math.floor(position);
  const fraction = position - below;
  const bin = moveToRank(h, cursor, below + 1);
  const low = binValue(h, bin);
  if (fraction === 0) return low;
  const highBin = cursor.atOrBelow >= below + 2 ? bin : nextFilledBin(h, bin);
  return low + (binValue(h, highBin) - low) * fraction;
}

/** The same percentile_cont by a plain scan (no cursor): the reference for tests and one-off use. */
export function histogramQuantile(h: LogHistogram, q: number): number | null {
  return quantileWithCursor(h, { bin: -1, atOrBelow: 0 }, q);
}

/** Largest bin whose value is <= threshold (-1 if none): values in later bins are above it. */
export function lastBinAtOrBelow(h: LogHistogram, threshold: number): number {
  if (!(threshold > 0)) return -1;
  let bin = Math.floor((Math.log(threshold) - h.lo) / h.width - 0.5);
  // Guard the floating-point edge where a bin's centre is the threshold itself.
  if (bin + 1 < h.counts.length && binValue(h, bin + 1) <= threshold) bin += 1;
  if (bin >= 0 && binValue(h, bin) > threshold) bin -= 1;
  return Math.max(-1, Math.min(h.counts.length - 1, bin));
}

/** Count of values strictly above `threshold`, keeping `cursor` at the threshold's bin. */
export function countAboveWithCursor(h: LogHistogram, cursor: Cursor, threshold: number): number {
  return h.total - moveTo(h, cursor, lastBinAtOrBelow(h, threshold));
}
