import type { Client } from 'pg';
import type { Etcd3 } from 'etcd3';
import type { Redis } from 'ioredis';
import { etcdReader } from '../etcd/reader';
import { hostname } from 'node:os';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { ledgerInsert } from '../postgres/ledger';
import type { MigrationsTable } from '../postgres/migrations-table';
import type { MigrationSource } from '../postgres/migration-source';
import type { ExecutorOptions } from '../postgres/run-migrations';
import { preflightVersion } from '../core/version';

/** The executor's settings for this job; migrations run on `lockClient`, the session holding the job lock. */
export function executorOptions(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  lockClient: Client,
  stores: { etcd?: Etcd3; redis?: Redis } = {},
): ExecutorOptions {
  return {
    client: lockClient,
    context: {
      etcd: stores.etcd && config.etcd ? etcdReader(stores.etcd, config.etcd.namespace) : undefined,
      redis: stores.redis,
    },
    settings: config.postgres,
    applicationName: config.applicationName,
    location: { schema: config.schema, table: config.migrationsTable },
    transactionMode: config.transactionMode,
    ddlLockTimeoutMs: config.ddlLockTimeoutMs,
    statementTimeoutMs: config.statementTimeoutMs,
    ddlRetries: config.ddlRetries,
    appliedBy: hostname(),
    preflightVersion,
    log,
    signal,
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
