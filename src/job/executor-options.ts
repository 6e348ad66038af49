import { hostname } from 'node:os';
import type { Client } from 'pg';
import { etcdReader } from '../etcd/reader';
import type { Logger } from '../log/logger';
import { backendWait } from '../postgres/backend';
import { ledgerInsert } from '../postgres/ledger';
import type { MigrationsTable } from '../postgres/migrations-table';
import type { MigrationSource } from '../postgres/migration-source';
import type { ExecutorOptions } from '../postgres/run-migrations';
import { preflightVersion } from '../core/version';
import { sessionOf, type JobContext } from './steps/step';

/** The other stores, as a migration sees them on its QueryRunner (etcd read-only). */
export function migrationStores(job: JobContext): ExecutorOptions['context'] {
  const { config, etcd, redis } = job;
  return { etcd: etcd && config.etcd ? etcdReader(etcd, config.etcd.namespace) : undefined, redis };
}

/** The executor's settings for this job; the job's session answers what the migration's backend waits on. */
export function executorOptions(job: JobContext, onBackendPid: (pid: number) => void): ExecutorOptions {
  const { config, log, signal, events } = job;
  const session = sessionOf(job);
  return {
    context: migrationStores(job),
    settings: config.postgres,
    dataSourceOptions: config.dataSourceOptions,
    applicationName: config.applicationName,
    location: { schema: config.schema, table: config.migrationsTable },
    transactionMode: config.transactionMode,
    ddlLockTimeoutMs: config.ddlLockTimeoutMs,
    statementTimeoutMs: config.statementTimeoutMs,
    ddlRetries: config.ddlRetries,
    appliedBy: hostname(),
    preflightVersion,
    log,
    events,
    signal,
    onBackendPid,
    describeBackend: (pid) => backendWait(session, pid),
  };
}

/**
 * Migrations applied without preflight (TypeORM's CLI, or before preflight was adopted) get their
 * checksum recorded as they are in this build, so later edits to them are caught.
 */
export async function adoptUnrecorded(
  client: Client,
  location: MigrationsTable,
  unrecorded: MigrationSource[],
  log: Logger,
): Promise<number> {
  for (const source of unrecorded) {
    await client.query(
      ...ledgerInsert(location, {
        name: source.name,
        checksum: source.checksum,
        durationMs: null,
        appliedBy: hostname(),
        preflightVersion,
        adopted: true,
      }),
    );
    log.info({
      event: 'migration.adopted',
      name: source.name,
      message: 'applied without preflight; checksum recorded',
    });
  }
  return unrecorded.length;
}
