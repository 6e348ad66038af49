/** Medians and the figures' formatting, shared by every scenario. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

/**
 * MiB, the unit `du -sh` and GNU time (KiB) work in. DESIGN §9's "typeorm + pg alone: 35 MB" is
 * what `du -sh node_modules` prints for that install (35 MiB on disk; 24 MB of file contents), so
 * its targets are read as MiB.
 */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(1)} MiB` : 'n/a';
}

export const mebibyte = 1048576;

export function kibToBytes(kib: number): number {
  return kib * 1024;
}

export function ratio(value: number, baseline: number): string {
  return Number.isFinite(value) && Number.isFinite(baseline) && baseline > 0
    ? `${(value / baseline).toFixed(2)}×`
    : 'n/a';
}

/** `[min–max]` of a sample, so the table shows how noisy a median is. */
export function spread(values: readonly number[], format: (value: number) => string): string {
  if (values.length < 2) return '';
  return ` [${format(Math.min(...values))}–${format(Math.max(...values))}]`;
}

/** One row of the results table. */
export interface Row {
  item: string;
  figure: string;
  preflight: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: string;
}

export function verdict(met: boolean, miss = ''): string {
  return met ? 'met' : `**not met**${miss ? ` (${miss})` : ''}`;
}

/**
 * The verdict of a "value ≤ limit × baseline" target (a ratio measured in the same run): `met`, or
 * by how much it is missed, as the ratio against the limit and, for times, how much faster the
 * value would have to be. Not measured when either side is missing.
 */
export function ratioVerdict(
  value: number,
  baseline: number,
  limit: number,
  format: (value: number) => string = ms,
): string {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return 'not measured';
  const measured = value / baseline;
  if (measured <= limit) return `met (${measured.toFixed(2)}× ≤ ${limit}×)`;
  return `**not met**: ${measured.toFixed(2)}× vs ≤ ${limit}×, ${percentOver(measured, limit)} over the limit (${format(value - limit * baseline)} too much)`;
}

/** `0.5%`, `43%`: how far `value` is above `limit`. */
function percentOver(value: number, limit: number): string {
  const percent = (value / limit - 1) * 100;
  return `${percent < 10 ? percent.toFixed(1) : percent.toFixed(0)}%`;
}

/** The verdict of an absolute "value ≤ limit" target: `met`, or by how much it is missed. */
export function limitVerdict(value: number, limit: number, format: (value: number) => string): string {
  if (!Number.isFinite(value)) return 'not measured';
  if (value <= limit) return `met (${format(value)} ≤ ${format(limit)})`;
  return `**not met**: ${format(value)} vs ≤ ${format(limit)}, ${percentOver(value, limit)} over the limit (${format(value - limit)} too much)`;
}

export function markdownTable(rows: readonly Row[]): string {
  const header = ['#', 'figure', 'preflight (median)', 'baseline (median)', 'ratio', 'target', 'verdict'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    lines.push(
      `| ${[row.item, row.figure, row.preflight, row.baseline, row.ratio, row.target, row.verdict].map(escapeCell).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
