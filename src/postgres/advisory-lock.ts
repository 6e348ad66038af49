import { createHash } from 'node:crypto';
import type { Client } from 'pg';

/** The two int4 keys of the job lock: one lock per database, schema and migrations table. */
export function lockKeys(database: string, schema: string, table: string): [number, number] {
  const digest = createHash('sha256').update(`preflight:${database}:${schema}.${table}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

/** Who holds the lock, as pg_stat_activity tells it. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddress: string | null;
  since: string | null;
}

/** One attempt; true when this session now holds the lock. */
export async function tryLock(client: Client, keys: [number, number]): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', keys);
  return result.rows[0].locked;
}

/**
 * Waits up to `sliceMs` for the lock inside PostgreSQL, which grants it the moment its holder
 * releases it (no polling delay between the holder and the next waiter); false when the slice ran
 * out. `shared`: the shared mode, which any number of sessions hold at once and the exclusive mode
 * excludes. The `lock_timeout` is set for this statement only: on a timeout the implicit transaction
 * of the multi-statement query rolls it back, on success the RESET restores it.
 */
export async function waitLock(
  client: Client,
  keys: [number, number],
  sliceMs: number,
  shared = false,
): Promise<boolean> {
  const [first, second] = keys.map((key) => Math.trunc(key));
  const lock = shared ? 'pg_advisory_lock_shared' : 'pg_advisory_lock';
  try {
    await client.query(
      `SET lock_timeout = ${Math.max(1, Math.round(sliceMs))}; SELECT ${lock}(${first}, ${second}); RESET lock_timeout`,
    );
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === lockNotAvailable) return false;
    throw error;
  }
}

/** lock_not_available: lock_timeout expired */
const lockNotAvailable = '55P03';

export async function unlock(client: Client, keys: [number, number], shared = false): Promise<void> {
  await client.query(`SELECT ${shared ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock'}($1, $2)`, keys);
}

export async function lockHolder(client: Client, keys: [number, number]): Promise<LockHolder | undefined> {
  // A two-key advisory lock shows up with classid/objid set to the keys and objsubid 2. The exclusive
  // holder first; else one of the sessions holding it shared (job-lock.ts).
  const result = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    since: Date | null;
  }>(
    `SELECT l.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND l.classid = ($1::int)::oid AND l.objid = ($2::int)::oid AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      ORDER BY l.mode = 'ExclusiveLock' DESC, a.backend_start LIMIT 1`,
    keys,
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    applicationName: row.application_name,
    clientAddress: row.client_addr,
    since: row.since?.toISOString() ?? null,
  };
}
