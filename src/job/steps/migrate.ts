import { interrupted } from '../../core/retry';
import { applyBaseline } from '../../postgres/apply-baseline';
import { rememberFiles } from '../../postgres/known-files';
import { ensureLedger } from '../../postgres/ledger';
import type { MigrationSource } from '../../postgres/migration-source';
import { ensureMigrationsTable } from '../../postgres/migrations-table';
import { runMigrations } from '../../postgres/run-migrations';
import { adoptUnrecorded, executorOptions, migrationStores } from '../executor-options';
import type { MigrationPlan } from '../plan';
import { sessionOf, type JobContext, type Step } from './step';

/**
 * Applies the pending migrations: on an empty database the baseline snapshot first (when shipped and
 * PREFLIGHT_BASELINE allows it), then adoption of migrations applied without preflight, then each
 * pending migration through TypeORM's QueryRunner.
 */
export const migrateStep: Step<MigrationPlan, void> = {
  name: 'migrate',
  async run(job, plan) {
    const { config, log, signal } = job;
    const session = sessionOf(job);
    const location = { schema: config.schema, table: config.migrationsTable };
    if (plan.pending.length === 0 && plan.unrecorded.length === 0) {
      // The ledger's file cache is a write: under a shared lock the next exclusive run remembers.
      if (!job.sharedLock) await remember(job, plan.sources);
      return { status: 'unchanged', value: undefined };
    }
    const stores = migrationStores(job);
    const baselineStarted = performance.now();
    const baselined =
      config.baseline && plan.applied.length === 0
        ? await applyBaseline(session, config.migrationsPath, location, plan.pending, log, stores)
        : [];
    if (baselined.length > 0) {
      const durationMs = Math.round(performance.now() - baselineStarted);
      job.events.emit({ type: 'baseline.applied', names: baselined, durationMs });
    }
    await ensureMigrationsTable(session, location);
    await ensureLedger(session, location);
    const adopted = await adoptUnrecorded(session, location, plan.unrecorded, log);
    const pending = plan.pending.filter((source) => !baselined.includes(source.name));
    const runs = await runMigrations(pending, executorOptions(job));
    if (signal.aborted) throw interrupted(signal, 'between migrations');
    await remember(job, plan.sources);
    return {
      status: 'applied',
      details: {
        applied: runs.map((run) => ({ name: run.name, durationMs: run.durationMs })),
        ...(adopted > 0 ? { adopted } : {}),
        ...(baselined.length > 0 ? { baseline: baselined.length } : {}),
      },
      value: undefined,
    };
  },
};

/** Lets the ledger remember the files loaded this run, so the next no-op loads none of them (postgres/known-files.ts). */
async function remember(job: JobContext, sources: MigrationSource[]): Promise<void> {
  const location = { schema: job.config.schema, table: job.config.migrationsTable };
  const refused = await rememberFiles(sessionOf(job), location, sources);
  if (refused !== undefined) job.log.warn({ event: 'ledger.remember_failed', error: refused });
}
