import type { Client } from 'pg';

/** The platform's history tables that clear-history trims. */
export type HistoryTable = 'kernels' | 'sessions';

const oldKernels = 'SELECT id FROM kernels WHERE terminated_at < $1';
// A session goes only once none of its kernels is left, so ON DELETE CASCADE finds no kernel to
// remove behind clear-history's back (whose Redis keys would then stay).
const oldSessions =
  'SELECT id FROM sessions s WHERE s.terminated_at < $1 AND NOT EXISTS (SELECT 1 FROM kernels k WHERE k.session_id = s.id)';

/** The first history table that does not exist, or undefined when both do. */
export async function missingHistoryTable(pg: Client): Promise<HistoryTable | undefined> {
  for (const table of ['kernels', 'sessions'] as const) {
    const { rows } = await pg.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
    if (rows[0].found === null) return table;
  }
  return undefined;
}

/**
 * One batch in its own transaction: delete up to `limit` old rows, run `beforeCommit` with their ids
 * (the Redis side), then COMMIT. Anything failing rolls this batch back and is rethrown as it was;
 * a failing ROLLBACK is passed to `onRollbackError` and never replaces the original error. SKIP LOCKED
 * passes over rows the platform is working on; the next run takes them.
 */
export async function deleteOldBatch(
  pg: Client,
  table: HistoryTable,
  cutoff: Date,
  limit: number,
  beforeCommit: (ids: string[]) => Promise<number>,
  onRollbackError: (error: unknown) => void,
): Promise<{ deleted: number; sideEffects: number }> {
  const select = table === 'kernels' ? oldKernels : oldSessions;
  await pg.query('BEGIN');
  try {
    const { rows } = await pg.query<{ id: string }>(
      `DELETE FROM ${table} WHERE id IN (${select} LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id`,
      [cutoff, limit],
    );
    const sideEffects = await beforeCommit(rows.map((row) => row.id));
    await pg.query('COMMIT');
    return { deleted: rows.length, sideEffects };
  } catch (error) {
    await pg.query('ROLLBACK').catch(onRollbackError);
    throw error;
  }
}

/** A page of old kernel ids after `after`, in id order (keyset paging for a dry run). */
export async function oldKernelPage(pg: Client, cutoff: Date, after: string, limit: number): Promise<string[]> {
  const { rows } = await pg.query<{ id: string }>(`${oldKernels} AND id > $2 ORDER BY id LIMIT $3`, [
    cutoff,
    after,
    limit,
  ]);
  return rows.map((row) => row.id);
}

/** Sessions that will have no kernel left once the old kernels are gone. */
export async function countOldSessions(pg: Client, cutoff: Date): Promise<number> {
  const { rows } = await pg.query<{ sessions: string }>(
    `SELECT count(*) AS sessions FROM sessions s WHERE s.terminated_at < $1
       AND NOT EXISTS (SELECT 1 FROM kernels k WHERE k.session_id = s.id AND (k.terminated_at < $1) IS NOT TRUE)`,
    [cutoff],
  );
  return Number(rows[0].sessions);
}

/** VACUUM cannot run inside a transaction block; the client must be outside one. */
export async function vacuumHistory(pg: Client): Promise<void> {
  await pg.query('VACUUM (ANALYZE) kernels, sessions');
}
