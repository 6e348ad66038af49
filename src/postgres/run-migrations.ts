import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresSettings } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../job/errors';
import { qualifiedName, type MigrationsTable } from './migrations-table';
import type { MigrationSource } from './migration-source';

export interface RunMigrationsOptions {
  settings: PostgresSettings;
  applicationName: string;
  location: MigrationsTable;
  pending: MigrationSource[];
  transactionMode: 'each' | 'all' | 'none';
  log: Logger;
  /** aborted when the job is asked to stop: no further migration starts */
  signal: AbortSignal;
  /** told the backend pid of the migration connection, so a stop request can cancel its statement */
  onBackendPid(pid: number): void;
}

export interface MigrationRun {
  name: string;
  durationMs: number;
  transaction: boolean;
}

const heartbeatMs = 10_000;

/**
 * Applies the pending migrations through TypeORM's QueryRunner (so migrations use the API they were
 * written for). Each migration's row is inserted in the same transaction as its work: nothing is
 * recorded that did not commit. TypeORM is imported here only, when there is work to do.
 */
export async function runMigrations(options: RunMigrationsOptions): Promise<MigrationRun[]> {
  const { pending, transactionMode } = options;
  const outside = pending.filter((source) => source.create().transaction === false);
  if (transactionMode === 'all' && outside.length > 0) {
    throw new PreflightError('data', `migration ${outside.map((source) => source.name).join(', ')} sets transaction = false, which PREFLIGHT_TRANSACTION=all cannot honour: use PREFLIGHT_TRANSACTION=each`);
  }
  const dataSource = await openDataSource(options.settings, options.applicationName);
  const runner = dataSource.createQueryRunner();
  try {
    const [{ pid }] = (await runner.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number }>;
    options.onBackendPid(pid);
    if (transactionMode !== 'all') return await runEach(runner, options);
    await runner.startTransaction();
    const runs = await runEach(runner, options, true).catch(async (error: unknown) => {
      await rollback(runner, options.log, 'all');
      throw error;
    });
    await runner.commitTransaction();
    return runs.map((run) => ({ ...run, transaction: true }));
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/** `insideOuterTransaction`: mode `all`, where one transaction around every migration is already open. */
async function runEach(runner: QueryRunner, options: RunMigrationsOptions, insideOuterTransaction = false): Promise<MigrationRun[]> {
  const runs: MigrationRun[] = [];
  for (const source of options.pending) {
    if (options.signal.aborted) break;
    const migration = source.create();
    const inTransaction = !insideOuterTransaction && options.transactionMode === 'each' && migration.transaction !== false;
    const started = performance.now();
    options.log.info({ event: 'migration.started', name: source.name, transaction: inTransaction });
    const heartbeat = setInterval(() => {
      options.log.info({ event: 'migration.running', name: source.name, elapsedMs: Math.round(performance.now() - started) });
    }, heartbeatMs);
    try {
      if (inTransaction) await runner.startTransaction();
      await migration.up(runner);
      await runner.query(`INSERT INTO ${qualifiedName(options.location)} ("timestamp", "name") VALUES ($1, $2)`, [source.timestamp, source.name]);
      if (inTransaction) await runner.commitTransaction();
    } catch (error) {
      if (inTransaction) await rollback(runner, options.log, source.name);
      throw migrationFailure(source, error, inTransaction || insideOuterTransaction, options.signal);
    } finally {
      clearInterval(heartbeat);
    }
    const durationMs = Math.round(performance.now() - started);
    options.log.info({ event: 'migration.applied', name: source.name, durationMs });
    runs.push({ name: source.name, durationMs, transaction: inTransaction });
  }
  return runs;
}

function migrationFailure(source: MigrationSource, error: unknown, rolledBack: boolean, signal: AbortSignal): PreflightError {
  if (error instanceof PreflightError) return error;
  const outcome = rolledBack ? 'rolled back, nothing recorded' : 'ran outside a transaction: check for partial effects, nothing recorded';
  if (signal.aborted) {
    const kind = signal.reason === 'SIGINT' ? 'sigint' : 'sigterm';
    return new PreflightError(kind, `interrupted by ${String(signal.reason)} during migration ${source.name}: ${outcome}`, { cause: error });
  }
  return new PreflightError('software', `migration ${source.name} failed: ${reasonOf(error)} (${outcome}; fix the migration and re-run)`, { cause: error });
}

async function rollback(runner: QueryRunner, log: Logger, name: string): Promise<void> {
  try {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
  } catch (error) {
    // The connection may already be gone; the server rolls back an open transaction on disconnect.
    log.warn({ event: 'migration.rollback_failed', name, error: reasonOf(error) });
  }
}

async function openDataSource(settings: PostgresSettings, applicationName: string): Promise<DataSource> {
  const { DataSource } = await import('typeorm');
  const dataSource = new DataSource({
    type: 'postgres',
    host: settings.host,
    port: settings.port,
    username: settings.user,
    password: settings.password,
    database: settings.database,
    ssl: settings.sslMode === 'disable' ? false : { rejectUnauthorized: settings.sslMode !== 'require' },
    applicationName,
    poolSize: 1,
    logging: false,
  });
  return dataSource.initialize();
}
