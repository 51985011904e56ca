const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "30s", "15m", "1h", "2d" (or a bare number of milliseconds) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration (use e.g. 500ms, 30s, 15m, 1h, 2d)`);
  const value = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`"${text}" must be a positive duration`);
  return Math.round(value);
}
