/**
 * The Mann-Whitney U test (two-sided, normal approximation with the tie correction): whether two samples come from
 * one distribution. For timing side channels: a p-value far below 0.01 says the two kinds of answer take measurably
 * different times, whatever their medians show.
 */

/** The two-sided p-value of the hypothesis that `a` and `b` are drawn from the same distribution. */
export function mannWhitneyP(a: readonly number[], b: readonly number[]): number {
  const pooled = [...a.map((value) => ({ value, first: true })), ...b.map((value) => ({ value, first: false }))].sort(
    (x, y) => x.value - y.value,
  );
  const n = pooled.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && pooled[end + 1]?.value === pooled[start]?.value) end += 1;
    // Tied values share the mean of the ranks they span (ranks count from 1).
    const rank = (start + end + 2) / 2;
    const ties = end - start + 1;
    tieTerm += ties ** 3 - ties;
    for (let index = start; index <= end; index += 1) if (pooled[index]?.first) rankSumA += rank;
    start = end + 1;
  }
  const [n1, n2] = [a.length, b.length];
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  const z = Math.abs(u - mean) / Math.sqrt(variance);
  return 2 * (1 - normalCdf(z));
}

/** The standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (z / Math.SQRT2));
  const erf =
    1 -
    t *
      Math.exp(-((z / Math.SQRT2) ** 2)) *
      (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * (1 + erf);
}
