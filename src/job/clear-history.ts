import type { Client } from 'pg';
import type { Redis } from 'ioredis';
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

/**
 * The platform keeps per-kernel data in Redis under `kernel.<kernel id>.stats` (resource usage)
 * and `kernel.<kernel id>.events` (the kernel's event stream); they die with the kernel's row.
 */
export function kernelRedisKeys(kernelId: string): string[] {
  return [`kernel.${kernelId}.stats`, `kernel.${kernelId}.events`];
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
  for (const table of ['kernels', 'sessions']) {
    const { rows } = await pg.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
    if (rows[0].found === null)
      throw new PreflightError('data', `clear-history: table ${table} does not exist — run preflight run first`);
  }
}

const oldKernels = 'SELECT id FROM kernels WHERE terminated_at < $1';
// A session goes only once none of its kernels is left, so ON DELETE CASCADE finds no kernel to
// remove behind clear-history's back (whose Redis keys would then stay).
const oldSessions =
  'SELECT id FROM sessions s WHERE s.terminated_at < $1 AND NOT EXISTS (SELECT 1 FROM kernels k WHERE k.session_id = s.id)';

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
  table: 'kernels' | 'sessions',
  cutoff: Date,
  batchSize: number,
): Promise<{ deleted: number; redisKeys: number }> {
  const select = table === 'kernels' ? oldKernels : oldSessions;
  await pg.query('BEGIN');
  try {
    const { rows } = await pg.query<{ id: string }>(
      `DELETE FROM ${table} WHERE id IN (${select} LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id`,
      [cutoff, batchSize],
    );
    const redisKeys =
      table === 'kernels' && redis
        ? await unlinkKernelKeys(
            redis,
            rows.map((row) => row.id),
          )
        : 0;
    await pg.query('COMMIT');
    return { deleted: rows.length, redisKeys };
  } catch (error) {
    await pg
      .query('ROLLBACK')
      .catch((rollbackError: unknown) =>
        log.warn({ event: 'clear-history.rollback_failed', table, error: reasonOf(rollbackError) }),
      );
    if (error instanceof PreflightError) throw error;
    throw new PreflightError(
      'software',
      `clear-history: deleting old ${table} failed (this batch rolled back, earlier ones stay deleted): ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

/** UNLINK (non-blocking DEL) of each kernel's keys, pipelined; returns how many existed. */
async function unlinkKernelKeys(redis: Redis, kernelIds: string[]): Promise<number> {
  const pipeline = redis.pipeline();
  for (const id of kernelIds) pipeline.unlink(...kernelRedisKeys(id));
  return sumReplies(await execRedis(() => pipeline.exec()));
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
    const { rows } = await pg.query<{ id: string }>(`${oldKernels} AND id > $2 ORDER BY id LIMIT $3`, [
      cutoff,
      after,
      batchSize,
    ]);
    if (rows.length === 0) break;
    counts.kernels += rows.length;
    if (redis) {
      const pipeline = redis.pipeline();
      for (const { id } of rows) pipeline.exists(...kernelRedisKeys(id));
      counts.redisKeys += sumReplies(await execRedis(() => pipeline.exec()));
    }
    after = rows[rows.length - 1].id;
  }
  // Sessions that will have no kernel left once the old kernels are gone.
  const { rows } = await pg.query<{ sessions: string }>(
    `SELECT count(*) AS sessions FROM sessions s WHERE s.terminated_at < $1
       AND NOT EXISTS (SELECT 1 FROM kernels k WHERE k.session_id = s.id AND (k.terminated_at < $1) IS NOT TRUE)`,
    [cutoff],
  );
  counts.sessions = Number(rows[0].sessions);
  return counts;
}

type PipelineReplies = Array<[Error | null, unknown]> | null;

/** Runs a pipeline; a lost connection or a failed command becomes one 'unavailable' error. */
async function execRedis(exec: () => Promise<PipelineReplies>): Promise<PipelineReplies> {
  let replies: PipelineReplies;
  try {
    replies = await exec();
  } catch (error) {
    throw new PreflightError(
      'unavailable',
      `clear-history: Redis failed while removing kernel keys (this batch rolled back): ${reasonOf(error)}`,
      { cause: error },
    );
  }
  const failed = replies?.find(([error]) => error !== null);
  if (failed)
    throw new PreflightError(
      'unavailable',
      `clear-history: Redis failed while removing kernel keys (this batch rolled back): ${reasonOf(failed[0])}`,
      { cause: failed[0] },
    );
  return replies;
}

function sumReplies(replies: PipelineReplies): number {
  return (replies ?? []).reduce((sum, [, value]) => sum + Number(value), 0);
}

/** VACUUM cannot run inside a transaction block; the client is outside one here. */
async function vacuumTables(pg: Client, log: Logger): Promise<void> {
  const started = performance.now();
  try {
    await pg.query('VACUUM (ANALYZE) kernels, sessions');
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
