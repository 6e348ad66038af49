import type { Client } from 'pg';
import type { Config } from '../config';
import { formatDuration } from '../core/duration';
import type { Logger } from '../log/logger';
import { lockHolder, lockKeys, tryLock, type LockHolder } from '../postgres/advisory-lock';
import { PreflightError } from '../core/errors';
import { retrying } from '../core/retry';

const holderReportEveryMs = 5000;

export interface HeldLock {
  keys: [number, number];
  waitedMs: number;
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'holder unknown (it may have just released it)';
  return `held by pid ${holder.pid} (${holder.applicationName || 'no application_name'}, ${holder.clientAddress ?? 'local socket'}, connected since ${holder.since})`;
}

/**
 * Takes the session-level job lock on the dedicated connection, polling so that a stop request
 * is honoured at once and the holder can be reported while waiting.
 */
export async function acquireJobLock(
  client: Client,
  config: Config,
  log: Logger,
  signal: AbortSignal,
): Promise<HeldLock> {
  const keys = lockKeys(config.postgres.database, config.schema, config.migrationsTable);
  const started = performance.now();
  let reportedAt = -Infinity;
  const reportHolder = async (waitedMs: number) => {
    reportedAt = performance.now();
    const holder = await lockHolder(client, keys);
    log.info({
      event: 'lock.waiting',
      waitedMs: Math.round(waitedMs),
      holder: holder ?? null,
      message: describeHolder(holder),
    });
  };
  try {
    // Short, jittered polls: waiters notice the release quickly without moving in lockstep.
    await retrying(
      async () => {
        if (await tryLock(client, keys)) return;
        if (performance.now() - reportedAt >= holderReportEveryMs) await reportHolder(performance.now() - started);
        throw new LockBusy();
      },
      {
        initialDelayMs: 50,
        maxDelayMs: 250,
        jitter: 0.5,
        timeoutMs: config.lockTimeoutMs,
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
  const waitedMs = Math.round(performance.now() - started);
  log.info({ event: 'lock.acquired', waitedMs });
  return { keys, waitedMs };
}

/** Another session holds the job lock: poll again. */
class LockBusy extends Error {}
