/**
 * Holm's step-down adjustment. It controls the family-wise error rate for any dependence between
 * the p-values (variants share the control arm, so their tests are correlated) and is uniformly
 * more powerful than Bonferroni.
 *
 * Adjusted p for the i-th smallest of m p-values: max over j <= i of min(1, (m - j + 1) p_(j)).
 * A hypothesis is rejected at level alpha exactly when its adjusted p-value is <= alpha. The
 * adjustment is nondecreasing in every input, so running-minimum inputs give running-minimum
 * outputs.
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues
    .map((p, index) => ({ p: Number.isNaN(p) ? 1 : Math.min(1, Math.max(0, p)), index }))
    .sort((a, b) => a.p - b.p || a.index - b.index);
  const adjusted = new Array<number>(m).fill(1);
  let runningMax = 0;
  order.forEach((entry, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (m - rank) * entry.p));
    adjusted[entry.index] = runningMax;
  });
  return adjusted;
}
