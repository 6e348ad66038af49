import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { ensureLedger, readLedger } from '../postgres/ledger';
import { migrationCatalog } from '../postgres/manifest';
import { readApplied } from '../postgres/migrations-table';
import { revertMigrations, type MigrationRun } from '../postgres/run-migrations';
import { PreflightError } from '../core/errors';
import { acquireJobLock, classifyConnectionLoss, releaseJobLock } from './job-lock';
import { executorOptions } from './migrate-step';
import { planMigrations } from './plan';
import { interrupted } from '../core/retry';
import { waitForEtcd, waitForPostgres, waitForRedis } from './wait-for-stores';

/** How far to go back: the last `count` applied migrations, or every one applied after `to`. */
export type DownTarget = { count: number } | { to: string };

/** Reverts applied migrations under the job lock, newest first; each `down` and its records commit together. */
export async function down(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  target: DownTarget,
): Promise<MigrationRun[]> {
  const sources = await migrationCatalog(config.migrationsPath);
  const lockClient = await waitForPostgres(config, log, signal);
  // Migrations may need the other stores to undo their cross-store effects (ConcurrencyUsedToRedis).
  const [etcd, redis] = await Promise.all([waitForEtcd(config, log, signal), waitForRedis(config, log, signal)]).catch(
    async (error: unknown) => {
      await lockClient.end();
      throw error;
    },
  );
  let lost: string | undefined;
  try {
    const lock = await acquireJobLock(lockClient, config, log, signal);
    try {
      const location = { schema: config.schema, table: config.migrationsTable };
      const applied = await readApplied(lockClient, location);
      const plan = planMigrations(sources, applied, await readLedger(lockClient, location));
      const chosen =
        'count' in target ? applied.slice(Math.max(applied.length - target.count, 0)) : after(applied, target.to);
      const newestFirst = chosen.reverse();
      const unknown = newestFirst.filter((migration) => !sources.some((source) => source.name === migration.name));
      if (unknown.length > 0) {
        throw new PreflightError(
          'data',
          `cannot revert ${unknown.map((migration) => migration.name).join(', ')}: this build does not contain it (revert with the build that applied it)`,
        );
      }
      const drifted = plan.drifted.filter((drift) => newestFirst.some((migration) => migration.name === drift.name));
      if (drifted.length > 0) {
        throw new PreflightError(
          'data',
          `cannot revert ${drifted.map((drift) => drift.name).join(', ')}: its source changed after it was applied, so its down() may not match what was done`,
        );
      }
      if (newestFirst.length === 0) {
        log.info({ event: 'down.nothing', message: 'no applied migration to revert' });
        return [];
      }
      const toRevert = newestFirst.map((migration) => sources.find((source) => source.name === migration.name)!);
      await ensureLedger(lockClient, location);
      const runs = await revertMigrations(toRevert, executorOptions(config, log, signal, lockClient, { etcd, redis }));
      if (signal.aborted) throw interrupted(signal, 'between migrations');
      return runs;
    } finally {
      lost = await releaseJobLock(lockClient, lock, log);
    }
  } catch (error) {
    throw classifyConnectionLoss(error, lost);
  } finally {
    etcd?.close();
    await Promise.all([lockClient.end().catch(() => undefined), redis?.quit()]);
  }
}

function after<T extends { name: string }>(applied: T[], name: string): T[] {
  const index = applied.findIndex((migration) => migration.name === name);
  if (index < 0)
    throw new PreflightError(
      'usage',
      `preflight down --to ${name}: no applied migration has that name (see preflight status)`,
    );
  return applied.slice(index + 1);
}
