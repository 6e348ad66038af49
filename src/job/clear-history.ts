import type { Client } from 'pg';
import type { RedisClient as Redis } from '../redis/client';
import {
  countOldSessions,
  deleteOldBatch,
  missingHistoryTable,
  oldKernelPage,
  vacuumHistory,
  type HistoryTable,
} from '../postgres/history';
import { countKernelKeys, unlinkKernelKeys } from '../redis/history';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../core/errors';
import { interrupted } from '../core/retry';
import { waitForPostgres, waitForRedis } from './wait-for-stores';

export interface ClearHistoryOptions {
  /** kernels and sessions that terminated before this instant are deleted */
  cutoff: Date;
  /** run `VACUUM (ANALYZE) kernels, sessions` afterwards; default false */
  vacuum?: boolean;
  /** count what would be deleted, delete nothing; default false */
  dryRun?: boolean;
  /** rows per batch, each batch its own short transaction; default 1000 */
  batchSize?: number;
}

/** What clear-history deleted (or, in a dry run, would delete). */
export interface ClearHistoryResult {
  cutoff: Date;
  dryRun: boolean;
  kernels: number;
  sessions: number;
  /** Redis keys removed (or present, in a dry run); 0 without REDIS_URL */
  redisKeys: number;
  /** false when REDIS_URL is not configured */
  redisConfigured: boolean;
  /** batches committed, kernels and sessions together */
  batches: number;
  vacuumed: boolean;
  durationMs: number;
}

/** Deletes terminated kernels and sessions older than the cutoff, in batches, and the kernels' Redis keys. */
export async function clearHistory(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  options: ClearHistoryOptions,
): Promise<ClearHistoryResult> {
  const started = performance.now();
  const { cutoff, dryRun = false, batchSize = 1000 } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new PreflightError('usage', `clear-history: batch size must be a positive whole number (got ${batchSize})`);
  const pg = await waitForPostgres(config, log, signal);
  let redis: Redis | undefined;
  try {
    redis = await waitForRedis(config, log, signal);
    await requireTables(pg);
    const counts = dryRun
      ? await countOnly(pg, redis, signal, cutoff, batchSize)
      : await deleteInBatches(pg, redis, log, signal, cutoff, batchSize);
    const vacuumed = options.vacuum === true && !dryRun;
    if (vacuumed) {
      if (signal.aborted) throw interrupted(signal, 'before VACUUM (the deletions are committed)');
      await vacuumTables(pg, log);
    }
    return {
      cutoff,
      dryRun,
      ...counts,
      redisConfigured: redis !== undefined,
      vacuumed,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    // A connection that broke mid-run must not hide the error that broke it.
    const closing = [pg.end(), redis?.quit()].map((done) =>
      Promise.resolve(done).catch((error: unknown) =>
        log.warn({ event: 'clear-history.close_failed', error: reasonOf(error) }),
      ),
    );
    await Promise.all(closing);
  }
}

interface Counts {
  kernels: number;
  sessions: number;
  redisKeys: number;
  batches: number;
}

async function requireTables(pg: Client): Promise<void> {
  const missing = await missingHistoryTable(pg);
  if (missing)
    throw new PreflightError('data', `clear-history: table ${missing} does not exist — run preflight run first`);
}

/**
 * Each batch is one transaction: delete the rows, UNLINK their Redis keys, then COMMIT. Redis goes
 * first on purpose. A crash (or a Redis error) before the commit rolls the rows back; the next run
 * selects them again and UNLINK of keys already gone is a no-op, so it converges. The other order
 * — commit, then Redis — would leave keys whose kernel rows are gone after a crash in between,
 * and no later run could ever find them again. SKIP LOCKED passes over rows the platform is
 * working on; they are taken by the next run.
 */
async function deleteInBatches(
  pg: Client,
  redis: Redis | undefined,
  log: Logger,
  signal: AbortSignal,
  cutoff: Date,
  batchSize: number,
): Promise<Counts> {
  const counts: Counts = { kernels: 0, sessions: 0, redisKeys: 0, batches: 0 };
  for (const table of ['kernels', 'sessions'] as const) {
    for (;;) {
      if (signal.aborted)
        throw interrupted(
          signal,
          `during clear-history after ${counts.kernels} kernels and ${counts.sessions} sessions`,
        );
      const batch = await deleteBatch(pg, redis, log, table, cutoff, batchSize);
      if (batch.deleted === 0) break;
      counts[table] += batch.deleted;
      counts.redisKeys += batch.redisKeys;
      counts.batches += 1;
      log.info({
        event: 'clear-history.progress',
        table,
        deleted: batch.deleted,
        total: counts[table],
        redisKeys: counts.redisKeys,
      });
      if (batch.deleted < batchSize) break;
    }
  }
  return counts;
}

/** One batch in its own transaction; a failure rolls back this batch only. */
async function deleteBatch(
  pg: Client,
  redis: Redis | undefined,
  log: Logger,
  table: HistoryTable,
  cutoff: Date,
  batchSize: number,
): Promise<{ deleted: number; redisKeys: number }> {
  // Redis goes before the commit on purpose (see deleteInBatches).
  const unlink = (ids: string[]) =>
    table === 'kernels' && redis ? redisStep(() => unlinkKernelKeys(redis, ids)) : Promise.resolve(0);
  try {
    const batch = await deleteOldBatch(pg, table, cutoff, batchSize, unlink, (rollbackError) =>
      log.warn({ event: 'clear-history.rollback_failed', table, error: reasonOf(rollbackError) }),
    );
    return { deleted: batch.deleted, redisKeys: batch.sideEffects };
  } catch (error) {
    if (error instanceof PreflightError) throw error;
    throw new PreflightError(
      'software',
      `clear-history: deleting old ${table} failed (this batch rolled back, earlier ones stay deleted): ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

/** A dry run: the same selection, read in keyset pages, with EXISTS for the Redis keys. */
async function countOnly(
  pg: Client,
  redis: Redis | undefined,
  signal: AbortSignal,
  cutoff: Date,
  batchSize: number,
): Promise<Counts> {
  const counts: Counts = { kernels: 0, sessions: 0, redisKeys: 0, batches: 0 };
  for (let after = '00000000-0000-0000-0000-000000000000'; ;) {
    if (signal.aborted) throw interrupted(signal, 'during clear-history --dry-run');
    const ids = await oldKernelPage(pg, cutoff, after, batchSize);
    if (ids.length === 0) break;
    counts.kernels += ids.length;
    if (redis) counts.redisKeys += await redisStep(() => countKernelKeys(redis, ids));
    after = ids[ids.length - 1];
  }
  counts.sessions = await countOldSessions(pg, cutoff);
  return counts;
}

/** A lost Redis connection or a failed command becomes one 'unavailable' error. */
async function redisStep(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    throw new PreflightError(
      'unavailable',
      `clear-history: Redis failed while removing kernel keys (this batch rolled back): ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

/** VACUUM (ANALYZE) after the deletions, outside any transaction. */
async function vacuumTables(pg: Client, log: Logger): Promise<void> {
  const started = performance.now();
  try {
    await vacuumHistory(pg);
  } catch (error) {
    throw new PreflightError(
      'software',
      `clear-history: VACUUM (ANALYZE) kernels, sessions failed after the rows were deleted: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  log.info({
    event: 'clear-history.vacuumed',
    tables: ['kernels', 'sessions'],
    durationMs: Math.round(performance.now() - started),
  });
}
