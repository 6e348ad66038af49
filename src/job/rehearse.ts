import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { JobEvents } from '../core/events';
import { connect, quoteIdentifier, serverVersionNumber, sqlState } from '../postgres/connection';
import { ledgerName } from '../postgres/ledger';
import { qualifiedName } from '../postgres/migrations-table';
import { startLockSampler, type TableLock } from '../postgres/lock-sampler';
import { dumpFormat, failureReason, findPgTool, runPgTool } from '../postgres/pg-tools';
import { down } from './down';
import { PreflightError, reasonOf } from '../core/errors';
import { interrupted } from '../core/retry';
import { runJob } from './run-job';

/** One migration run of the rehearsal. */
export interface RehearsedMigration {
  name: string;
  /** `up`: applied as `run` would; `down`: the newest reverted; `up again`: the newest re-applied */
  phase: 'up' | 'down' | 'up again';
  durationMs: number;
  /** distinct (table, mode) pairs seen while it ran, strongest mode first */
  locks: TableLock[];
  /** true when seen just before its COMMIT with every lock of its transaction held; false: polled, short locks may be missing */
  locksComplete: boolean;
  /** ran in a transaction of its own (the only case in which its locks can be seen complete) */
  transaction: boolean;
}

/** What the rehearsal did; `error` is what stopped it, undefined when every pending migration applied and round-tripped. */
export interface Rehearsal {
  dump: string;
  scratchDatabase: string;
  restoreMs: number;
  migrations: RehearsedMigration[];
  error?: unknown;
}

/**
 * Restores `dump` into a scratch database on the configured server, runs the pending migrations
 * there with the job's own pipeline (no etcd, Redis, backup or seed), reverts the newest and applies
 * it again, and drops the scratch database whatever happens. A missing dump throws 78, one that is
 * not a dump or does not restore 65; a failing migration ends up in `error` with its own exit code.
 */
export async function rehearse(config: Config, log: Logger, signal: AbortSignal, dump: string): Promise<Rehearsal> {
  const format = await dumpFormat(dump).catch((error: unknown) => {
    throw new PreflightError('config', `preflight rehearse --from ${dump}: cannot read the dump (${reasonOf(error)})`, {
      cause: error,
    });
  });
  if (format === 'empty' || format === 'unknown') {
    const what =
      format === 'empty'
        ? 'the file is empty'
        : 'neither a pg_dump archive (custom, tar or directory format) nor a SQL file';
    throw new PreflightError('data', `preflight rehearse --from ${dump}: ${what}`);
  }
  const tool = format === 'archive' ? 'pg_restore' : 'psql';
  const program = findPgTool(tool, config.environment.PATH);
  if (program === undefined)
    throw new PreflightError(
      'config',
      `preflight rehearse needs ${tool}, which was not found: install postgresql-client or put ${tool} on PATH`,
    );

  const scratchDatabase = `preflight_rehearsal_${randomBytes(6).toString('hex')}`;
  const applicationName = `${config.applicationName}/rehearse`;
  const admin = await connect(config.postgres, applicationName, 'postgres').catch((error: unknown) => {
    throw new PreflightError(
      'unavailable',
      `preflight rehearse creates its scratch database through the "postgres" database on ${config.postgres.host}:${config.postgres.port}, which refused: ${reasonOf(error)}`,
      { cause: error },
    );
  });
  const result: Rehearsal = { dump, scratchDatabase, restoreMs: 0, migrations: [] };
  try {
    await admin
      .query(`CREATE DATABASE ${quoteIdentifier(scratchDatabase)} TEMPLATE template0`)
      .catch((error: unknown) => {
        const kind = sqlState(error) === '42501' ? 'config' : 'software';
        throw new PreflightError(
          kind,
          `cannot create the scratch database ${scratchDatabase} as ${config.postgres.user} (rehearse needs CREATEDB): ${reasonOf(error)}`,
          { cause: error },
        );
      });
    log.info({ event: 'rehearse.started', dump, format, scratchDatabase });
    const restoreStarted = performance.now();
    const args =
      format === 'archive'
        ? ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', '--dbname', scratchDatabase, dump]
        : ['--no-psqlrc', '--quiet', '--no-password', '--set', 'ON_ERROR_STOP=1', '--file', dump];
    const restored = await runPgTool(
      program,
      args,
      { settings: config.postgres, applicationName, database: scratchDatabase },
      config.environment,
      signal,
    );
    if (signal.aborted) throw interrupted(signal, 'while restoring the dump');
    if (restored.exitCode !== 0) {
      const reason = log.redact(failureReason(restored.stderr));
      throw new PreflightError('data', `${tool} could not restore it into ${scratchDatabase}: ${reason}`);
    }
    result.restoreMs = Math.round(performance.now() - restoreStarted);
    log.info({ event: 'rehearse.restored', dump, scratchDatabase, durationMs: result.restoreMs });
    const rehearsed = await rehearseMigrations(scratchConfig(config, scratchDatabase), log, signal);
    result.migrations = rehearsed.migrations;
    result.error = rehearsed.error;
  } catch (error) {
    result.error = error;
  } finally {
    await dropScratch(admin, scratchDatabase).then(
      () => log.info({ event: 'rehearse.dropped', scratchDatabase }),
      (error: unknown) => {
        const failure = new PreflightError(
          'software',
          `could not drop the scratch database ${scratchDatabase}: ${reasonOf(error)} — drop it by hand`,
          { cause: error },
        );
        if (result.error === undefined) result.error = failure;
        else log.error({ event: 'rehearse.drop_failed', scratchDatabase, message: failure.message });
      },
    );
    await admin.end().catch((error: unknown) => log.debug({ event: 'rehearse.close_failed', error: reasonOf(error) }));
  }
  return result;
}

/** up, then down and up again for the newest; what ran is kept when a step fails. */
async function rehearseMigrations(
  scratch: Config,
  log: Logger,
  signal: AbortSignal,
): Promise<{ migrations: RehearsedMigration[]; error?: unknown }> {
  const location = { schema: scratch.schema, table: scratch.migrationsTable };
  const sampler = await startLockSampler({
    settings: scratch.postgres,
    applicationName: `${scratch.applicationName}/rehearse`,
    watchedApplicationName: scratch.applicationName,
    barrierTable: qualifiedName(location),
    ignoredTables: [ledgerName(location)],
    onError: (error) =>
      log.warn({
        event: 'rehearse.sampling_failed',
        error: reasonOf(error),
        message: 'lock sampling stopped; durations are still reported',
      }),
  });
  const runs: Array<Pick<RehearsedMigration, 'name' | 'phase' | 'durationMs'>> = [];
  const inTransaction = new Map<string, boolean>();
  let phase: RehearsedMigration['phase'] = 'up';
  const events = new JobEvents();
  events.on((event) => {
    if (event.type === 'migration.started') {
      // Under PREFLIGHT_TRANSACTION=all the first migration's locks stay held while the next ones run.
      inTransaction.set(`${phase} ${event.name}`, event.transaction && scratch.transactionMode === 'each');
      sampler.begin(`${phase} ${event.name}`);
    }
    if (event.type === 'migration.finished') {
      sampler.end();
      runs.push({ name: event.name, phase, durationMs: event.durationMs });
    }
  });
  let error: unknown;
  try {
    const first = await runJob(scratch, log, signal, events);
    if (first.error !== undefined) throw first.error;
    if (runs.length > 0) {
      phase = 'down';
      await down(scratch, log, signal, { count: 1 }, events);
      phase = 'up again';
      const again = await runJob(scratch, log, signal, events);
      if (again.error !== undefined) throw again.error;
    }
  } catch (failure) {
    error = failure;
  } finally {
    await sampler.stop();
  }
  const migrations = runs.map((run) => {
    const key = `${run.phase} ${run.name}`;
    const { locks, atBarrier, waitedMs } = sampler.observed(key);
    const transaction = inTransaction.get(key) === true;
    return {
      ...run,
      durationMs: Math.max(run.durationMs - waitedMs, 0),
      locks,
      locksComplete: atBarrier && transaction,
      transaction,
    };
  });
  return { migrations, error };
}

/** The job's configuration aimed at the scratch database, with every outside effect switched off. */
function scratchConfig(config: Config, database: string): Config {
  return {
    ...config,
    postgres: { ...config.postgres, database },
    etcd: undefined,
    redis: undefined,
    backupDir: undefined,
    secretsDir: undefined,
    baseline: false,
    createDatabase: false,
    reportFile: null,
  };
}

/** DROP ... WITH (FORCE) ends the migration's connection if an interrupted job left one (PostgreSQL 13+). */
async function dropScratch(admin: Client, name: string): Promise<void> {
  if ((await serverVersionNumber(admin)) >= 130000) {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
    return;
  }
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)}`);
}
