import type { Config } from '../config';
import { PreflightError } from '../core/errors';
import type { JobEvents } from '../core/events';
import { interrupted } from '../core/retry';
import type { Logger } from '../log/logger';
import { ensureLedger, readLedger } from '../postgres/ledger';
import { readApplied } from '../postgres/migrations-table';
import { revertMigrations, type MigrationRun } from '../postgres/run-migrations';
import { executorOptions } from './executor-options';
import { loadMigrations } from './load-migrations';
import { planMigrations } from './plan';
import { withJob } from './run-job';
import { lockStep, releaseLock } from './steps/lock';
import { runStep, sessionOf } from './steps/step';
import { waitStep } from './steps/wait';

/** How far to go back: the last `count` applied migrations, or every one applied after `to`. */
export type DownTarget = { count: number } | { to: string };

/** Reverts applied migrations under the job lock, newest first; each `down` and its records commit together. */
export async function down(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  target: DownTarget,
  events?: JobEvents,
  /** asked with the names, newest first, before anything is reverted; false reverts nothing */
  confirm?: (names: string[]) => Promise<boolean>,
): Promise<MigrationRun[]> {
  const sources = await loadMigrations(config, log);
  // Migrations may need the other stores to undo their cross-store effects (ConcurrencyUsedToRedis).
  return withJob({ config, log, signal, events }, async (job) => {
    await runStep(waitStep, job, undefined);
    const lock = await runStep(lockStep, job, { shareWhenBusy: false });
    try {
      const session = sessionOf(job);
      const location = { schema: config.schema, table: config.migrationsTable };
      const applied = await readApplied(session, location);
      const plan = planMigrations(sources, applied, await readLedger(session, location));
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
      if (confirm && !(await confirm(newestFirst.map((migration) => migration.name)))) {
        log.info({ event: 'down.cancelled', message: 'nothing reverted' });
        return [];
      }
      const toRevert = newestFirst.map((migration) => sources.find((source) => source.name === migration.name)!);
      await ensureLedger(session, location);
      const runs = await revertMigrations(toRevert, executorOptions(job));
      if (signal.aborted) throw interrupted(signal, 'between migrations');
      return runs;
    } finally {
      await releaseLock(job, lock);
    }
  });
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
