import { setTimeout as delay } from 'node:timers/promises';
import type { Client } from 'pg';
import type { PostgresSettings } from '../config';
import { connect, sqlState } from './connection';

/** A lock a backend held on a table that existed before its transaction began. */
export interface TableLock {
  /** `schema.table` */
  relation: string;
  /** pg_locks' mode, e.g. `AccessExclusiveLock` */
  mode: string;
}

/** What to watch, and the table whose writes mark the end of each migration. */
export interface LockSamplerOptions {
  settings: PostgresSettings;
  /** how the sampler's own connection shows up in pg_stat_activity */
  applicationName: string;
  /** the backends to watch: every one in the database with this application_name */
  watchedApplicationName: string;
  /** the migrations table, quoted: held in SHARE mode as the barrier described below */
  barrierTable: string;
  /** further bookkeeping tables (quoted) whose locks are not reported */
  ignoredTables: string[];
  /** told why sampling stopped early; the migrations go on regardless */
  onError(error: unknown): void;
}

/** What the sampler saw of one migration. */
export interface Observation {
  /** distinct (table, mode) pairs, strongest mode first */
  locks: TableLock[];
  /** true when caught waiting at the barrier, just before its COMMIT; if it ran in a transaction, `locks` is then complete */
  atBarrier: boolean;
  /** how long it waited for the sampler (PostgreSQL 14+ tells; 0 before): not part of its own duration */
  waitedMs: number;
}

/** Attributes what it sees to the key given to begin() (the running migration). */
export interface LockSampler {
  begin(key: string): void;
  end(): void;
  observed(key: string): Observation;
  stop(): Promise<void>;
}

const modesByStrength = [
  'AccessExclusiveLock',
  'ExclusiveLock',
  'ShareRowExclusiveLock',
  'ShareLock',
  'ShareUpdateExclusiveLock',
  'RowExclusiveLock',
  'RowShareLock',
  'AccessShareLock',
];
/**
 * Every lock of the watched backends; `relation` only for existing tables and views (one created
 * by the running transaction is invisible here, and blocks nobody anyway). `blocked_by_us`: a wait
 * the sampler causes, at the barrier or (CREATE INDEX CONCURRENTLY) on its open transaction.
 */
const sampleSql = `SELECT l.mode, l.granted,
       CASE WHEN c.relkind IN ('r', 'p', 'm', 'v', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') THEN format('%I.%I', n.nspname, c.relname) END AS relation,
       coalesce(l.relation = to_regclass($2), false) AS barrier,
       coalesce(l.relation = ANY (SELECT to_regclass(t) FROM unnest($3::text[] || $2::text) t), false) AS ignored,
       NOT l.granted AND pg_backend_pid() = ANY (pg_blocking_pids(l.pid)) AS blocked_by_us,
       extract(epoch FROM clock_timestamp() - (to_jsonb(l) ->> 'waitstart')::timestamptz)::float8 * 1000 AS waited_ms
  FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE l.pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid())`;

interface LockRow {
  mode: string;
  granted: boolean;
  relation: string | null;
  barrier: boolean;
  ignored: boolean;
  blocked_by_us: boolean;
  /** null when granted, and before PostgreSQL 14 (no pg_locks.waitstart) */
  waited_ms: number | null;
}

/**
 * Samples pg_locks from a connection of its own: every 50 ms between migrations, from every 2 ms
 * while one runs. A short migration would commit between two samples, so the sampler also holds
 * SHARE on the migrations table: the migration's INSERT into it waits there, after up() and before
 * COMMIT, with every lock up() took still held. Seeing that wait, the sampler records those locks
 * and lets it go, well within the migration's lock_timeout. A migration outside a transaction
 * releases each lock after its statement, so only the samples that caught one show it.
 */
export async function startLockSampler(options: LockSamplerOptions): Promise<LockSampler> {
  const client = await connect(options.settings, options.applicationName);
  const seen = new Map<string, Map<string, TableLock>>();
  const waitedMs = new Map<string, number>();
  const caughtAtBarrier = new Set<string>();
  let current: string | undefined;
  let holdingBarrier = false;
  let stopped = false;
  let closed = false;
  const close = async () => {
    // Ending the connection also releases the barrier, if held.
    if (closed) return;
    closed = true;
    await client.end();
  };
  let wake = (): void => undefined;
  const loop = (async () => {
    let pollMs = 50;
    let previousKey: string | undefined;
    let releasedAtBarrier = false;
    while (!stopped) {
      if (!holdingBarrier) holdingBarrier = await takeBarrier(client, options.barrierTable, releasedAtBarrier);
      releasedAtBarrier = false;
      const key = current;
      // Inside the barrier's transaction pg_stat_activity would keep showing its first snapshot.
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<LockRow>(sampleSql, [
        options.watchedApplicationName,
        options.barrierTable,
        options.ignoredTables,
      ]);
      if (key !== undefined && key === current) {
        const locks = seen.get(key) ?? new Map<string, TableLock>();
        for (const row of rows)
          if (row.granted && row.relation !== null && !row.ignored)
            locks.set(`${row.relation} ${row.mode}`, { relation: row.relation, mode: row.mode });
        seen.set(key, locks);
      }
      const blocked = rows.filter((lock) => lock.blocked_by_us);
      // A migration that began during this sample waits at the barrier until sampled under its own key.
      if (holdingBarrier && blocked.length > 0 && key === current) {
        const releasing = performance.now();
        await client.query('COMMIT');
        holdingBarrier = false;
        const atBarrier = blocked.some((lock) => lock.barrier);
        if (key !== undefined) {
          const waited = Math.max(...blocked.map((lock) => lock.waited_ms ?? 0)) + performance.now() - releasing;
          waitedMs.set(key, (waitedMs.get(key) ?? 0) + waited);
          if (atBarrier) caughtAtBarrier.add(key);
        }
        // At the barrier up() is done: take it again before the next migration's INSERT comes.
        releasedAtBarrier = atBarrier;
        if (atBarrier) continue;
      }
      if (key !== current) continue;
      pollMs = key === undefined ? 50 : key === previousKey ? Math.min(pollMs * 1.2, 50) : 2;
      previousKey = key;
      const sleeping = new AbortController();
      wake = () => sleeping.abort();
      await delay(pollMs, undefined, { signal: sleeping.signal }).catch((error: unknown) => {
        if (!sleeping.signal.aborted) throw error;
      });
    }
  })().catch(async (error: unknown) => {
    // A barrier left held would stall the migration until its lock_timeout: let go at once.
    await close().catch(options.onError);
    options.onError(error);
  });
  return {
    begin: (key) => {
      current = key;
      wake();
    },
    end: () => {
      current = undefined;
    },
    observed: (key) => ({
      locks: [...(seen.get(key)?.values() ?? [])].sort(
        (a, b) =>
          modesByStrength.indexOf(a.mode) - modesByStrength.indexOf(b.mode) || a.relation.localeCompare(b.relation),
      ),
      atBarrier: caughtAtBarrier.has(key),
      waitedMs: Math.round(waitedMs.get(key) ?? 0),
    }),
    stop: async () => {
      stopped = true;
      wake();
      await loop;
      await close();
    },
  };
}

/**
 * SHARE on the migrations table; false without it. Right after letting a migration pass the barrier
 * it waits up to a second for that migration's COMMIT (the next INSERT queues behind this request,
 * so the barrier is in place for it however slow the machine); otherwise only 20 ms, so a long
 * transaction (PREFLIGHT_TRANSACTION=all) does not stop the sampling.
 */
async function takeBarrier(client: Client, table: string, afterRelease: boolean): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '${afterRelease ? 1000 : 20}ms'`);
    await client.query(`LOCK TABLE ${table} IN SHARE MODE`);
    return true;
  } catch (error) {
    await client.query('ROLLBACK');
    // No migrations table yet (42P01), or a migration's transaction still holds it (55P03): sample without.
    if (sqlState(error) === '42P01' || sqlState(error) === '55P03') return false;
    throw error;
  }
}
