/** Human-readable durations used by every option and command: `30s`, `5m`, `6h`, `3d`, `2w`, `3mo`, `1yr`, `250ms`; a bare number is seconds. */
/** Units of a fixed length. */
export const fixedUnitMs: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** For timeouts a month is 30 days and a year 365; retention (clear-history) follows the calendar instead. */
const unitMs: Record<string, number> = { ...fixedUnitMs, mo: 30 * 86_400_000, yr: 365 * 86_400_000 };

const durationPattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|mo|yr)?$/;

export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w' | 'mo' | 'yr';

/** The one duration grammar: an amount and its unit (seconds when bare), or undefined when `text` is not a duration. */
export function splitDuration(text: string): { amount: number; unit: DurationUnit } | undefined {
  const match = durationPattern.exec(text.trim());
  if (!match) return undefined;
  return { amount: Number(match[1]), unit: (match[2] ?? 's') as DurationUnit };
}

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const parts = splitDuration(text);
  return parts && Math.round(parts.amount * unitMs[parts.unit]);
}

/** The shortest readable form of a duration, for logs: `1.2s`, `5m`, `340ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  if (ms < 3_600_000) return `${Number((ms / 60_000).toFixed(1))}m`;
  return `${Number((ms / 3_600_000).toFixed(1))}h`;
}
