/**
 * Numbers as they appear in generated prompt text. Only finite values in their expected range are
 * shown, so a hand-built or corrupted insight cannot put "NaN%" (or a seven-digit run that reads
 * as a phone number) into a prompt.
 */

export function isRate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

export function validRating(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 && value <= 5;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** 0.4123 -> "41%". */
export function formatPercent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

/** 4.666 -> "4.7". */
export function formatRating(rating: number): string {
  return String(Math.round(rating * 10) / 10);
}
