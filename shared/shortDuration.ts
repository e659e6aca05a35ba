/**
 * A duration for a person to read, in the unit that fits it: `45s`, `12m`, `2.0h`, `3.5d`; `-`
 * for none. The audit's report, the demo's restart line and the backfill's summaries use it.
 */
function shortDuration(seconds: number | null): string {
  if (seconds === null) return '-';
  const abs = Math.abs(seconds);
  const sign = seconds < 0 ? '-' : '';
  if (abs < 120) return `${sign}${abs.toFixed(0)}s`;
  if (abs < 7_200) return `${sign}${(abs / 60).toFixed(0)}m`;
  if (abs < 172_800) return `${sign}${(abs / 3_600).toFixed(1)}h`;
  return `${sign}${(abs / 86_400).toFixed(1)}d`;
}

export { shortDuration };
