import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { PostgresSettings } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../core/errors';
import type { JobEvents } from '../core/events';
import { retrying } from '../core/retry';
import { reportInvalidIndexes } from './invalid-index';
import { postgresClientConfig, sqlState } from './connection';
import { ledgerDelete, recordApplied } from './ledger';
import { qualifiedName, type MigrationsTable } from './migrations-table';
import type { MigrationSource } from './migration-source';
import { attachMigrationContext, type MigrationContext } from './migration-context';
import { projectOptions } from './project-options';

export interface ExecutorOptions {
  settings: PostgresSettings;
  applicationName: string;
  location: MigrationsTable;
  transactionMode: 'each' | 'all' | 'none';
  /** lock_timeout for every statement; a migration that hits it is retried */
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
  /** aborted when the job is asked to stop: no further migration starts */
  signal: AbortSignal;
  /** told the backend pid of the migration connection, so a stop request can cancel its statement */
  onBackendPid(pid: number): void;
  /** the other stores, handed to migrations on their QueryRunner */
  context: Omit<MigrationContext, 'log'>;
  /** PREFLIGHT_DATASOURCE's entities, naming strategy, extra: migrations may use the project's entities */
  dataSourceOptions?: Record<string, unknown>;
  /** what the migration's backend is waiting on (from pg_stat_activity), for the heartbeat */
  describeBackend?(pid: number): Promise<string | undefined>;
}

export interface MigrationRun {
  name: string;
  durationMs: number;
  transaction: boolean;
  attempts: number;
}

const heartbeatMs = 10_000;
/** lock_not_available: raised when lock_timeout expires */
const lockTimeoutState = '55P03';

interface Step {
  source: MigrationSource;
  migration: MigrationInterface;
  direction: 'up' | 'down';
}

/**
 * Applies the pending migrations through TypeORM's QueryRunner (so migrations use the API they were
 * written for). Each migration's rows (TypeORM's and the ledger's) are written in the same
 * transaction as its work: nothing is recorded that did not commit. TypeORM is imported here only,
 * when there is work to do.
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
  const dataSource = await openDataSource(options.settings, options.applicationName, options.dataSourceOptions);
  const runner = dataSource.createQueryRunner();
  attachMigrationContext(runner, { ...options.context, log: options.log });
  try {
    const [{ pid }] = (await runner.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number }>;
    options.onBackendPid(pid);
    await runner.query(`SET lock_timeout = ${Math.round(options.ddlLockTimeoutMs)}`);
    await runner.query(`SET statement_timeout = ${Math.round(options.statementTimeoutMs)}`);
    if (options.transactionMode !== 'all') {
      const runs: MigrationRun[] = [];
      for (const step of steps) {
        if (options.signal.aborted) break;
        runs.push(await withRetries(runner, step, pid, options));
      }
      return runs;
    }
    await runner.startTransaction();
    const runs: MigrationRun[] = [];
    try {
      for (const step of steps) {
        if (options.signal.aborted) break;
        runs.push(await runOne(runner, step, pid, options, true));
      }
    } catch (error) {
      await rollback(runner, options.log, 'all');
      const cause = error instanceof PreflightError ? error.cause : error;
      if (sqlState(cause) === lockTimeoutState && !options.signal.aborted) {
        throw new PreflightError(
          'tempfail',
          `a migration could not take its locks within ${options.ddlLockTimeoutMs}ms; with PREFLIGHT_TRANSACTION=all the whole run was rolled back: retry later`,
          { cause },
        );
      }
      throw error;
    }
    if (options.signal.aborted) {
      await rollback(runner, options.log, 'all');
      return [];
    }
    await runner.commitTransaction();
    return runs;
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/** Runs one migration; when it only failed to get a lock in time, tries again with backoff. */
async function withRetries(
  runner: QueryRunner,
  step: Step,
  pid: number,
  options: ExecutorOptions,
): Promise<MigrationRun> {
  const causeOf = (error: unknown) => (error instanceof PreflightError ? error.cause : error);
  const isLockTimeout = (error: unknown) => sqlState(causeOf(error)) === lockTimeoutState;
  try {
    return await retrying(({ number }) => runOne(runner, step, pid, options, false, number + 1), {
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      maxRetries: options.ddlRetries,
      signal: options.signal,
      isRetryable: isLockTimeout,
      onRetry: (attempt, error, delayMs) =>
        options.log.warn({
          event: 'migration.lock_timeout',
          name: step.source.name,
          attempt,
          retryInMs: delayMs,
          error: reasonOf(causeOf(error)),
        }),
    });
  } catch (error) {
    if (!isLockTimeout(error) || options.signal.aborted) throw error;
    const attempts = options.ddlRetries + 1;
    throw new PreflightError(
      'tempfail',
      `migration ${step.source.name} could not take its locks within ${options.ddlLockTimeoutMs}ms in ${attempts} attempts (a long-running transaction holds them): retry later, or raise PREFLIGHT_DDL_LOCK_TIMEOUT / PREFLIGHT_DDL_RETRIES`,
      { cause: causeOf(error) },
    );
  }
}

async function runOne(
  runner: QueryRunner,
  step: Step,
  pid: number,
  options: ExecutorOptions,
  insideOuterTransaction: boolean,
  attempts = 1,
): Promise<MigrationRun> {
  const { source, migration, direction } = step;
  const inTransaction =
    !insideOuterTransaction && options.transactionMode === 'each' && migration.transaction !== false;
  if (!inTransaction && !insideOuterTransaction) await reportInvalidIndexes(runner, source.name, options.log);
  const started = performance.now();
  const event = direction === 'up' ? 'migration' : 'revert';
  const transaction = inTransaction || insideOuterTransaction;
  options.events.emit({ type: 'migration.started', name: source.name, direction, transaction });
  const heartbeat = setInterval(() => {
    const elapsedMs = Math.round(performance.now() - started);
    void (options.describeBackend?.(pid) ?? Promise.resolve(undefined)).then(
      (waiting) =>
        options.log.info({ event: `${event}.running`, name: source.name, elapsedMs, waiting: waiting ?? null }),
      () => options.log.info({ event: `${event}.running`, name: source.name, elapsedMs }),
    );
  }, heartbeatMs);
  try {
    if (inTransaction) await runner.startTransaction();
    if (direction === 'up') {
      await migration.up(runner);
      await runner.query(
        ...recordApplied(options.location, {
          name: source.name,
          timestamp: source.timestamp,
          checksum: source.checksum,
          durationMs: Math.round(performance.now() - started),
          appliedBy: options.appliedBy,
          preflightVersion: options.preflightVersion,
        }),
      );
    } else {
      await migration.down(runner);
      await runner.query(`DELETE FROM ${qualifiedName(options.location)} WHERE "timestamp" = $1 AND "name" = $2`, [
        source.timestamp,
        source.name,
      ]);
      await runner.query(...ledgerDelete(options.location, source.name));
    }
    if (inTransaction) await runner.commitTransaction();
  } catch (error) {
    if (inTransaction) await rollback(runner, options.log, source.name);
    throw failure(step, error, inTransaction || insideOuterTransaction, options.signal);
  } finally {
    clearInterval(heartbeat);
  }
  const durationMs = Math.round(performance.now() - started);
  options.events.emit({ type: 'migration.finished', name: source.name, direction, durationMs, transaction, attempts });
  return { name: source.name, durationMs, transaction, attempts };
}

function failure(step: Step, error: unknown, rolledBack: boolean, signal: AbortSignal): PreflightError {
  if (error instanceof PreflightError) return error;
  const name = step.source.name;
  const outcome = rolledBack
    ? 'rolled back, nothing recorded'
    : 'ran outside a transaction: check for partial effects, nothing recorded';
  if (signal.aborted) {
    const kind = signal.reason === 'SIGINT' ? 'sigint' : 'sigterm';
    return new PreflightError(kind, `interrupted by ${String(signal.reason)} during migration ${name}: ${outcome}`, {
      cause: error,
    });
  }
  const verb = step.direction === 'up' ? 'failed' : 'failed to revert';
  return new PreflightError(
    'software',
    `migration ${name} ${verb}: ${reasonOf(error)} (${outcome}; fix the migration and re-run)`,
    { cause: error },
  );
}

async function rollback(runner: QueryRunner, log: Logger, name: string): Promise<void> {
  try {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
  } catch (error) {
    // The connection may already be gone; the server rolls back an open transaction on disconnect.
    log.warn({ event: 'migration.rollback_failed', name, error: reasonOf(error) });
  }
}

async function openDataSource(settings: PostgresSettings, name: string, project?: Record<string, unknown>) {
  const { DataSource } = await import('typeorm');
  const dataSource = new DataSource({
    ...projectOptions(project),
    type: 'postgres',
    host: settings.host,
    port: settings.port,
    username: settings.user,
    password: settings.password,
    database: settings.database,
    ssl: settings.sslMode === 'disable' ? false : { rejectUnauthorized: settings.sslMode !== 'require' },
    applicationName: name,
    poolSize: 1,
    logging: false,
    extra: await postgresClientConfig(settings, name), // libpq's host list, TLS and options (issue 12)
  });
  return dataSource.initialize();
}
