import type { Config } from '../config';
import { retentionCutoff } from '../config/retention';
import type { Logger } from '../log/logger';
import { clearHistory, type ClearHistoryResult } from '../job/clear-history';
import { exitCodes, PreflightError } from '../core/errors';

/** preflight clear-history --retention D [--vacuum] [--dry-run]: deletes old history and prints one summary line. */
export async function clearHistoryCommand(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  flags: Record<string, string | boolean | undefined>,
): Promise<number> {
  if (typeof flags.retention !== 'string') {
    throw new PreflightError(
      'usage',
      'preflight clear-history: --retention is required, e.g. --retention 30d (accepted: 30m, 6h, 3d, 2w, 3mo, 1yr; a bare number is seconds)',
    );
  }
  // Parsed before any store is touched: a typo in a cron line must delete nothing.
  const cutoff = retentionCutoff(flags.retention, new Date());
  const result = await clearHistory(config, log, signal, {
    cutoff,
    vacuum: flags.vacuum === true,
    dryRun: flags['dry-run'] === true,
  });
  process.stdout.write(`${summaryLine(result)}\n`);
  log.info({
    event: 'clear-history.finished',
    dryRun: result.dryRun,
    cutoff: isoSeconds(result.cutoff),
    kernels: result.kernels,
    sessions: result.sessions,
    redisKeys: result.redisConfigured ? result.redisKeys : undefined,
    batches: result.batches,
    vacuumed: result.vacuumed,
    durationMs: result.durationMs,
  });
  return exitCodes.ok;
}

/** `deleted 1234 kernels, 56 sessions, 2468 Redis keys older than 2026-08-27T00:00:00Z` */
function summaryLine(result: ClearHistoryResult): string {
  const parts = [counted(result.kernels, 'kernel'), counted(result.sessions, 'session')];
  if (result.redisConfigured) parts.push(counted(result.redisKeys, 'Redis key'));
  return `${result.dryRun ? 'would delete' : 'deleted'} ${parts.join(', ')} older than ${isoSeconds(result.cutoff)}`;
}

function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** ISO 8601 in UTC, without milliseconds when there are none. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}
