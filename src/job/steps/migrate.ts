import { interrupted } from '../../core/retry';
import { applyBaseline } from '../../postgres/apply-baseline';
import { ensureLedger } from '../../postgres/ledger';
import { ensureMigrationsTable } from '../../postgres/migrations-table';
import { runMigrations } from '../../postgres/run-migrations';
import { adoptUnrecorded, executorOptions, migrationStores } from '../executor-options';
import type { MigrationPlan } from '../plan';
import { sessionOf, type Step } from './step';

/**
 * Applies the pending migrations: on an empty database the baseline snapshot first (when shipped and
 * PREFLIGHT_BASELINE allows it), then adoption of migrations applied without preflight, then each
 * pending migration through TypeORM's QueryRunner.
 */
export const migrateStep: Step<MigrationPlan, void> = {
  name: 'migrate',
  async run(job, plan) {
    const { config, log, signal } = job;
    if (plan.pending.length === 0 && plan.unrecorded.length === 0) return { status: 'unchanged', value: undefined };
    const session = sessionOf(job);
    const location = { schema: config.schema, table: config.migrationsTable };
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
    const runs = await runMigrations(
      pending,
      executorOptions(job, (pid) => (job.migrationPid = pid)),
    );
    job.migrationPid = undefined;
    if (signal.aborted) throw interrupted(signal, 'between migrations');
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
