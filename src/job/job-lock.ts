import type { Client } from 'pg';
import type { Config } from '../config';
import { formatDuration } from '../core/duration';
import type { Logger } from '../log/logger';
import { lockHolder, lockKeys, tryLock, unlock, waitLock, type LockHolder } from '../postgres/advisory-lock';
import { PreflightError, reasonOf } from '../core/errors';
import { retrying } from '../core/retry';
import { sessionLost } from '../postgres/migration-failure';
import { isConnectionLoss, keepSessionAlive, watchSession, type SessionWatch } from '../postgres/session';

const holderReportEveryMs = 5000;
/** The longest a single wait for the lock inside PostgreSQL lasts before a stop request is checked. */
const waitSliceMs = 200;

export interface HeldLock {
  keys: [number, number];
  waitedMs: number;
  /**
   * Held in the shared mode: another instance held the lock when this one asked, so this one waited
   * for it to finish and may only read. Any number of instances hold it shared at once; one that
   * finds something to write upgrades (`upgradeJobLock`) before its first write.
   */
  shared: boolean;
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'holder unknown (it may have just released it)';
  return `held by pid ${holder.pid} (${holder.applicationName || 'no application_name'}, ${holder.clientAddress ?? 'local socket'}, connected since ${holder.since})`;
}

/**
 * Takes the session-level job lock on the dedicated connection, waiting in short slices so that a
 * stop request is honoured within one and the holder can be reported while waiting. With
 * `shareWhenBusy`, an instance that finds the lock taken waits for its shared mode instead: when
 * the holder is done, the instances that waited all read at once rather than one after another
 * (issue 15: ten replicas starting together).
 */
export async function acquireJobLock(
  client: Client,
  config: Config,
  log: Logger,
  signal: AbortSignal,
  { shareWhenBusy = false } = {},
): Promise<HeldLock> {
  const keys = lockKeys(config.postgres.database, config.schema, config.migrationsTable);
  // The lock lives as long as this session: it must not be cut for idling, and its loss must be noticed.
  await keepSessionAlive(client);
  watches.set(client, watchSession(client));
  const started = performance.now();
  const free = await tryLock(client, keys);
  const shared = !free && shareWhenBusy;
  if (!free) await waitForLock(client, keys, shared, started, config, log, signal);
  return acquired(keys, shared, started, log);
}

/**
 * From shared to exclusive, for an instance that found something to write: the shared hold is let
 * go first (two instances upgrading in place would deadlock), so what it read must be read again.
 */
export async function upgradeJobLock(
  client: Client,
  lock: HeldLock,
  config: Config,
  log: Logger,
  signal: AbortSignal,
): Promise<HeldLock> {
  const started = performance.now() - lock.waitedMs;
  await unlock(client, lock.keys, true);
  if (!(await tryLock(client, lock.keys))) await waitForLock(client, lock.keys, false, started, config, log, signal);
  return acquired(lock.keys, false, started, log);
}

function acquired(keys: [number, number], shared: boolean, started: number, log: Logger): HeldLock {
  const waitedMs = Math.round(performance.now() - started);
  log.info({ event: 'lock.acquired', waitedMs, ...(shared ? { mode: 'shared' } : {}) });
  return { keys, waitedMs, shared };
}

/**
 * Waits of at most waitSliceMs inside PostgreSQL, which hands the lock to a waiter the moment it is
 * released, while a stop request and the deadline (PREFLIGHT_LOCK_TIMEOUT from `started`) are
 * checked between them; the holder is reported every few seconds.
 */
async function waitForLock(
  client: Client,
  keys: [number, number],
  shared: boolean,
  started: number,
  config: Config,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  let reportedAt = -Infinity;
  try {
    await retrying(
      async () => {
        const remainingMs = config.lockTimeoutMs - (performance.now() - started);
        if (await waitLock(client, keys, Math.max(1, Math.min(waitSliceMs, remainingMs)), shared)) return;
        if (performance.now() - reportedAt >= holderReportEveryMs) {
          reportedAt = performance.now();
          const holder = await lockHolder(client, keys);
          log.info({
            event: 'lock.waiting',
            waitedMs: Math.round(performance.now() - started),
            holder: holder ?? null,
            message: describeHolder(holder),
          });
        }
        throw new LockBusy();
      },
      {
        initialDelayMs: 1,
        maxDelayMs: 1,
        timeoutMs: Math.max(0, config.lockTimeoutMs - (performance.now() - started)),
        signal,
        isRetryable: (error) => error instanceof LockBusy,
      },
    );
  } catch (error) {
    if (!(error instanceof LockBusy)) throw error;
    const holder = await lockHolder(client, keys);
    throw new PreflightError(
      'tempfail',
      `job lock on database ${config.postgres.database} not acquired within ${formatDuration(config.lockTimeoutMs)}: ${describeHolder(holder)}; retry, or raise PREFLIGHT_LOCK_TIMEOUT`,
    );
  }
}

const watches = new WeakMap<Client, SessionWatch>();

/**
 * Releases the job lock; never throws (a lost session released it already). Returns the reason when
 * the session holding it was lost at some point, which fails the job with 75.
 */
export async function releaseJobLock(client: Client, lock: HeldLock, log: Logger): Promise<string | undefined> {
  const lost = watches.get(client)?.lost();
  if (lost === undefined) {
    try {
      await unlock(client, lock.keys, lock.shared);
      log.info({ event: 'lock.released' });
    } catch (error) {
      log.warn({ event: 'lock.release_failed', error: reasonOf(error) });
    }
  }
  const reason = watches.get(client)?.lost();
  watches.get(client)?.stop();
  watches.delete(client);
  if (reason !== undefined) {
    lostSessions.set(client, reason);
    log.error({ event: 'lock.lost', message: `the session holding the job lock ended: ${reason}` });
  }
  return reason;
}

const lostSessions = new WeakMap<Client, string>();

/** Why the job lock's session was lost, if it was (known once the lock was released). */
export function lockLostReason(client: Client | undefined): string | undefined {
  return client ? lostSessions.get(client) : undefined;
}

/**
 * The error a job ends with when PostgreSQL went away outside a migration: 75 when the session
 * holding the job lock was lost (`lostReason`), 69 for another lost connection; anything else as is.
 */
export function classifyConnectionLoss(error: unknown, lostReason?: string): unknown {
  if (error === undefined) return lostReason === undefined ? undefined : sessionLost(undefined, new Error(lostReason));
  // A step that wrapped a lost connection as its own failure (seed: 70) did not fail on its own.
  const raw = error instanceof PreflightError ? (error.kind === 'software' ? error.cause : undefined) : error;
  if (raw === undefined || !isConnectionLoss(raw)) return error;
  if (lostReason !== undefined) return sessionLost(undefined, raw);
  return new PreflightError(
    'unavailable',
    `connection lost: ${reasonOf(raw)}; nothing more was written, a re-run is safe`,
    { cause: raw },
  );
}

/** Another session holds the job lock: poll again. */
class LockBusy extends Error {}
