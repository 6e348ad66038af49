import type { Client } from 'pg';
import type { MigrationInterface } from 'typeorm';
import type { PostgresSettings } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../core/errors';
import type { JobEvents } from '../core/events';
import { lockKeys } from './advisory-lock';
import { reportInvalidIndexes } from './invalid-index';
import { cancelBackend } from './backend';
import { connect } from './connection';
import { ledgerDelete, recordApplied, recordPartial, recordProgress, recordReverted } from './ledger';
import type { MigrationsTable } from './migrations-table';
import type { MigrationSource } from './migration-source';
import { attachMigrationContext, type MigrationContext } from './migration-context';
import { StatementGuard, statementText, typeormOn } from './migration-session';
import { lostOutcome, migrationFailure, partialFailure, rollback, sessionLost } from './migration-failure';
import { isConnectionLoss, watchSession } from './session';
import {
  commitRecorded,
  describe,
  fence,
  fenceOutside,
  openedOnce,
  stillToDo,
  type FenceRow,
  type Session,
} from './migration-fence';

export interface ExecutorOptions {
  /** the session that holds the job lock: every migration runs on it */
  client: Client;
  settings: PostgresSettings;
  applicationName: string;
  location: MigrationsTable;
  transactionMode: 'each' | 'all' | 'none';
  /** lock_timeout for every statement; a statement that hits it is retried */
  ddlLockTimeoutMs: number;
  /** statement_timeout for every statement; 0 for none */
  statementTimeoutMs: number;
  ddlRetries: number;
  /** recorded in the ledger */
  appliedBy: string;
  preflightVersion: string;
  log: Logger;
  /** migration.started / migration.finished go here; the logger and the report subscribe */
  events: JobEvents;
  /** aborted when the job is asked to stop: the running statement is cancelled, no further migration starts */
  signal: AbortSignal;
  /** the other stores, handed to migrations on their QueryRunner */
  context: Omit<MigrationContext, 'log'>;
  /** PREFLIGHT_DATASOURCE's entities, naming strategy, extra: migrations may use the project's entities */
  dataSourceOptions?: Record<string, unknown>;
}

export interface MigrationRun {
  name: string;
  durationMs: number;
  transaction: boolean;
  /** 1 + the statements retried after a lock timeout */
  attempts: number;
}

const heartbeatMs = 10_000;

export interface Step {
  source: MigrationSource;
  migration: MigrationInterface;
  direction: 'up' | 'down';
}

/**
 * Applies the pending migrations through TypeORM's QueryRunner (so migrations use the API they were
 * written for), on the session that holds the job lock. Each migration's rows (TypeORM's and the
 * ledger's) are written in the same transaction as its work, after a fence: the job key taken at
 * transaction level and a re-check that the migration is still unrecorded.
 */
export async function runMigrations(pending: MigrationSource[], options: ExecutorOptions): Promise<MigrationRun[]> {
  return execute(await prepareMigrations(pending, options.transactionMode), options);
}

/**
 * Loads the pending migrations and refuses what cannot run (`transaction = false` under `all`):
 * called before anything is written, so a broken migration file changes nothing.
 */
export async function prepareMigrations(
  pending: MigrationSource[],
  transactionMode: ExecutorOptions['transactionMode'],
): Promise<Step[]> {
  const steps = await Promise.all(
    pending.map(async (source) => ({ source, migration: new (await source.load())(), direction: 'up' as const })),
  );
  const outside = steps.filter((step) => step.migration.transaction === false);
  if (transactionMode === 'all' && outside.length > 0) {
    throw new PreflightError(
      'data',
      `migration ${outside.map((step) => step.source.name).join(', ')} sets transaction = false, which PREFLIGHT_TRANSACTION=all cannot honour: use PREFLIGHT_TRANSACTION=each`,
    );
  }
  return steps;
}

/** Reverts the given applied migrations, newest first, each with its `down` and its records removed together. */
export async function revertMigrations(applied: MigrationSource[], options: ExecutorOptions): Promise<MigrationRun[]> {
  const steps = await Promise.all(
    applied.map(async (source) => ({ source, migration: new (await source.load())(), direction: 'down' as const })),
  );
  const withoutDown = steps.filter((step) => typeof step.migration.down !== 'function');
  if (withoutDown.length > 0) {
    throw new PreflightError(
      'data',
      `migration ${withoutDown.map((step) => step.source.name).join(', ')} has no down(): it cannot be reverted; write a new migration that undoes it instead`,
    );
  }
  return execute(steps, options);
}

async function execute(steps: Step[], options: ExecutorOptions): Promise<MigrationRun[]> {
  if (steps.length === 0) return []; // nothing to run: no session settings, no TypeORM loaded
  const { client, signal } = options;
  const guard = new StatementGuard(client, options);
  const dataSource = await typeormOn(guard.connection(), options.dataSourceOptions);
  const runner = dataSource.createQueryRunner();
  guard.inTransaction = () => runner.isTransactionActive;
  attachMigrationContext(runner, { ...options.context, log: options.log });
  let observer: Promise<Client> | undefined;
  const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
  const watch = watchSession(client);
  const session: Session = {
    lost: () => watch.lost(),
    runner,
    // TypeORM's transaction events reach the project's subscribers only through its own start/commit
    ownTransactions: dataSource.subscribers.length === 0,
    guard,
    pid,
    keys: lockKeys(options.settings.database, options.location.schema, options.location.table),
    options,
    observer: () => (observer ??= connect(options.settings, `${options.applicationName} (observer)`)),
  };
  const cancel = () => {
    options.log.warn({ event: 'migration.cancelling', reason: String(signal.reason), backend: pid });
    session
      .observer()
      .then((other) => cancelBackend(other, pid))
      .catch((error: unknown) => options.log.warn({ event: 'job.cancel_failed', error: reasonOf(error) }));
  };
  signal.addEventListener('abort', cancel, { once: true });
  const runs: MigrationRun[] = [];
  try {
    await client.query(`SET lock_timeout = ${Math.round(options.ddlLockTimeoutMs)}`);
    await client.query(`SET statement_timeout = ${Math.round(options.statementTimeoutMs)}`);
    if (options.transactionMode !== 'all') {
      // the fence of the next migration, taken with the previous one's COMMIT (its transaction is open)
      let fenced: FenceRow | undefined;
      for (const [index, step] of steps.entries()) {
        if (signal.aborted) break;
        const { run, next } = await runOne(session, step, false, fenced, steps[index + 1]);
        fenced = next;
        if (run) runs.push(run);
      }
      return runs;
    }
    await runner.startTransaction();
    try {
      for (const step of steps) {
        if (signal.aborted) break;
        const { run } = await runOne(session, step, true);
        if (run) runs.push(run);
      }
    } catch (error) {
      await rollback(runner, options.log, 'all');
      if (
        error instanceof PreflightError &&
        error.kind === 'tempfail' &&
        /could not take its locks/.test(error.message)
      )
        throw new PreflightError(
          'tempfail',
          `${error.message}; with PREFLIGHT_TRANSACTION=all the whole run was rolled back`,
          { cause: error.cause, details: error.details },
        );
      throw error;
    }
    if (signal.aborted) {
      await rollback(runner, options.log, 'all');
      return [];
    }
    await runner.commitTransaction();
    return runs;
  } finally {
    watch.stop();
    signal.removeEventListener('abort', cancel);
    // A migration fenced with the previous COMMIT but not started (a stop request came first)
    if (runner.isTransactionActive) await client.query('ROLLBACK').catch(() => undefined);
    // The session goes on holding the job lock for the later steps: leave it as it was.
    await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
    if (observer) await observer.then((other) => other.end()).catch(() => undefined);
  }
}

/**
 * Runs one migration (`fenced`: its fence was taken with the previous migration's COMMIT, its
 * transaction is open); no `run` when the fence finds it already done (by another instance). With
 * `following`, its COMMIT also opens that migration's transaction and fences it: that is `next`.
 */
async function runOne(
  session: Session,
  step: Step,
  insideOuter: boolean,
  fenced?: FenceRow,
  following?: Step,
): Promise<{ run?: MigrationRun; next?: FenceRow }> {
  const { runner, guard, options } = session;
  const { source, migration, direction } = step;
  const { client, location, log } = options;
  const inTransaction = !insideOuter && options.transactionMode === 'each' && migration.transaction !== false;
  const transactional = inTransaction || insideOuter;
  // BEGIN goes with the fence and COMMIT with the records: two round trips fewer per migration
  const own = inTransaction && session.ownTransactions;
  if (!transactional) await reportInvalidIndexes(runner, source.name, log);
  const started = performance.now();
  const event = direction === 'up' ? 'migration' : 'revert';
  options.events.emit({ type: 'migration.started', name: source.name, direction, transaction: transactional });
  const heartbeat = setInterval(() => void describe(session, source.name, event, started), heartbeatMs);
  const progress = { done: 0, last: '' };
  let startedRow = false;
  let next: FenceRow | undefined;
  try {
    if (inTransaction && !own) await runner.startTransaction();
    const todo = fenced
      ? stillToDo(fenced, step)
      : transactional
        ? await fence(session, step, own)
        : await fenceOutside(session, step);
    if (!todo) {
      if (inTransaction) await runner.rollbackTransaction();
      log.info({
        event: direction === 'up' ? 'migration.already_applied' : 'revert.already_reverted',
        name: source.name,
        message: 'another instance did it first; skipped',
      });
      return {};
    }
    startedRow = !transactional && direction === 'up';
    guard.migration = source.name;
    guard.retried = 0;
    guard.releasable = false; // a migration's first statement: no savepoint of this transaction yet (PREFLIGHT_TRANSACTION=all: one left over, harmless)
    guard.onCommitted = async (statement) => {
      progress.done++;
      progress.last = statementText(statement);
      if (startedRow) await client.query(...recordProgress(location, source.name, progress.done, progress.last));
    };
    guard.active = true;
    if (direction === 'up') await migration.up(runner);
    else await migration.down(runner);
    guard.active = false;
    const { appliedBy, preflightVersion } = options;
    const ran = { ...source, durationMs: Math.round(performance.now() - started), appliedBy, preflightVersion };
    const record = direction === 'up' ? recordApplied(location, ran, startedRow) : recordReverted(location, source);
    if (own && openedOnce(runner)) {
      next = await commitRecorded(session, step, record, following);
    } else {
      await client.query(record);
      if (inTransaction) await runner.commitTransaction();
    }
  } catch (error) {
    guard.active = false;
    // The session may have died between statements: TypeORM then reports a released runner, not the loss.
    const lost = session.lost() ?? (isConnectionLoss(error) ? reasonOf(error) : undefined);
    if (lost !== undefined && !options.signal.aborted) {
      log.warn({ event: 'migration.session_lost', name: source.name, error: lost });
      throw sessionLost(source.name, new Error(lost), lostOutcome(transactional, progress));
    }
    if (inTransaction) await rollback(runner, log, source.name);
    if (startedRow && progress.done > 0) {
      await client.query(...recordPartial(location, source.name)).catch(() => undefined);
      throw partialFailure(source.name, progress, error, options.signal);
    }
    if (startedRow) await client.query(...ledgerDelete(location, source.name)).catch(() => undefined);
    throw migrationFailure(step, error, transactional, options.signal);
  } finally {
    clearInterval(heartbeat);
  }
  const durationMs = Math.round(performance.now() - started);
  const attempts = 1 + guard.retried;
  options.events.emit({
    type: 'migration.finished',
    name: source.name,
    direction,
    durationMs,
    transaction: transactional,
    attempts,
  });
  return { run: { name: source.name, durationMs, transaction: transactional, attempts }, next };
}
