/**
 * Small formatters for the one-sentence `reason`. Hand-written instead of Intl so the output is
 * identical in every runtime (the decision is also computed inside replayed workflow code).
 */
import type { Metric } from '../domain/types';

/** 1240 -> "1,240". */
export function formatCount(value: number): string {
  const rounded = Math.round(Number.isFinite(value) ? value : 0);
  const digits = String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return rounded < 0 ? `-${digits}` : digits;
}

/**
 * "p=0.34", "p=0.0496", "p<0.001". Three significant digits below 0.1 so a p-value just under
 * alpha never prints as equal to it. The operator is included.
 */
export function formatP(p: number): string {
  if (p < 0.001) return 'p<0.001';
  return `p=${Number(p.toPrecision(p < 0.1 ? 3 : 2))}`;
}

export function formatNumber(value: number, significant = 3): string {
  return String(Number(value.toPrecision(significant)));
}

/** Signed effect in the metric's natural unit: percentage points for success, stars for rating. */
export function formatEffect(d: number, metric: Metric): string {
  const sign = d > 0 ? '+' : d < 0 ? '-' : '';
  return metric === 'rating' ? `${sign}${Math.abs(d).toFixed(2)} rating points` : `${sign}${(Math.abs(d) * 100).toFixed(1)} points`;
}

export function formatPercent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)}%`;
}

export function armLabel(arm: number, capitalized = false): string {
  const label = arm === 0 ? 'control' : `variant ${arm}`;
  return capitalized ? label.charAt(0).toUpperCase() + label.slice(1) : label;
}
