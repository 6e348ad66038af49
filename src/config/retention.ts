import { PreflightError } from '../core/errors';
import { fixedUnitMs, splitDuration } from '../core/duration';

const acceptedForms =
  'a positive duration such as 30m, 6h, 3d, 2w, 3mo or 1yr (units ms, s, m, h, d, w, mo, yr; a bare number is seconds; mo and yr take whole numbers)';

/**
 * The instant before which history is old: `now` minus `text`. Months and years follow the UTC
 * calendar and clamp to the month's end (2026-03-31 minus 1mo is 2026-02-28); zero is refused
 * because a cron job that deletes every terminated kernel is almost certainly a typo.
 */
export function retentionCutoff(text: string, now: Date): Date {
  const trimmed = text.trim();
  const parts = splitDuration(trimmed);
  if (!parts) {
    throw badRetention(text, `${problemWith(trimmed)}; expected ${acceptedForms}`);
  }
  const { amount, unit } = parts;
  if (amount === 0) throw badRetention(text, `zero would delete all terminated history; expected ${acceptedForms}`);
  let cutoffMs: number;
  if (unit === 'mo' || unit === 'yr') {
    if (!Number.isInteger(amount))
      throw badRetention(text, `a fraction of a month or year has no calendar meaning; expected ${acceptedForms}`);
    cutoffMs = minusMonths(now, unit === 'yr' ? amount * 12 : amount);
  } else {
    cutoffMs = now.getTime() - Math.round(amount * fixedUnitMs[unit]);
  }
  // Before year 1 there is no history to keep, and ISO 8601 / PostgreSQL spell such years differently.
  if (!Number.isFinite(cutoffMs) || new Date(cutoffMs).getUTCFullYear() < 1) {
    throw badRetention(text, `it reaches back before the year 1; expected ${acceptedForms}`);
  }
  return new Date(cutoffMs);
}

/** `now` minus whole months, on the UTC calendar, keeping the time of day and clamping the day. */
function minusMonths(now: Date, months: number): number {
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999.
  const first = new Date(now.getTime());
  first.setUTCFullYear(now.getUTCFullYear(), now.getUTCMonth() - months, 1);
  if (Number.isNaN(first.getTime())) return Number.NaN;
  const lastOfMonth = new Date(first.getTime());
  lastOfMonth.setUTCFullYear(first.getUTCFullYear(), first.getUTCMonth() + 1, 0);
  first.setUTCDate(Math.min(now.getUTCDate(), lastOfMonth.getUTCDate()));
  return first.getTime();
}

/** Why a retention that does not match the pattern was refused, in a few words. */
function problemWith(trimmed: string): string {
  if (trimmed === '') return 'it is empty';
  if (trimmed.startsWith('-')) return 'it is negative';
  const unit = /^\d+(?:\.\d+)?\s*(\S+)$/.exec(trimmed);
  if (unit) return `unknown unit "${unit[1]}"`;
  return 'not a duration';
}

function badRetention(text: string, expected: string): PreflightError {
  return new PreflightError('usage', `preflight clear-history: --retention ${JSON.stringify(text)}: ${expected}`);
}
