import type { RedisClient as Redis } from '../redis/client';
import type { QueryRunner } from 'typeorm';
import type { Logger } from '../log/logger';

/**
 * What a migration may use besides its QueryRunner: the other stores, when configured, and the
 * job's logger. Handed over on the QueryRunner (never a global), so the same migration class can
 * still be run by TypeORM's CLI, where `migrationContext` reports that no store is available.
 *
 * Cross-store rule: a migration's effects on etcd or Redis must be idempotent and happen before its
 * PostgreSQL transaction commits; the PostgreSQL ledger is the commit point.
 */
export interface MigrationContext {
  /** etcd, read-only: every key under `<namespace>/<prefix>/`, relative to the namespace */
  etcd?: { namespace: string; readPrefix(prefix: string): Promise<Map<string, string>> };
  /** the job's Redis connection (REDIS_URL's database) */
  redis?: Redis;
  log: Logger;
}

const contextKey = 'preflight';

/**
 * What `baselineData(runner)` receives: a migration covered by the baseline snapshot whose effects
 * go beyond the schema (importing from etcd) implements it; it runs inside the snapshot's
 * transaction, before the records commit. Only `query` (rows back) and the context are available.
 */
export interface BaselineRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
  data: unknown;
}

export function attachMigrationContext(runner: QueryRunner | BaselineRunner, context: MigrationContext): void {
  runner.data = { ...(runner.data as Record<string, unknown>), [contextKey]: context };
}

/** The context preflight attached; outside preflight, a context with no stores that logs to the console. */
export function migrationContext(queryRunner: QueryRunner | BaselineRunner): MigrationContext {
  const context = (queryRunner.data as Record<string, unknown> | undefined)?.[contextKey] as
    MigrationContext | undefined;
  if (context) return context;
  const toConsole = (event: { event: string }) => console.log(JSON.stringify(event));
  return {
    log: { error: toConsole, warn: toConsole, info: toConsole, debug: () => undefined, redact: (text) => text },
  };
}
