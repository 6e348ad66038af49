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

export async function unlock(client: Client, keys: [number, number]): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', keys);
}

export async function lockHolder(client: Client, keys: [number, number]): Promise<LockHolder | undefined> {
  // A two-key advisory lock shows up with classid/objid set to the keys and objsubid 2.
  const result = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    since: Date | null;
  }>(
    `SELECT l.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND l.classid = ($1::int)::oid AND l.objid = ($2::int)::oid AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
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
