import { readLedger } from '../../postgres/ledger';
import type { MigrationSource } from '../../postgres/migration-source';
import { readApplied } from '../../postgres/migrations-table';
import { prepareMigrations } from '../../postgres/run-migrations';
import { planMigrations, planRefusal, type MigrationPlan } from '../plan';
import { requireExclusive, sessionOf, type Step } from './step';

/**
 * Compares this build's migrations with what the database records, under the lock (an instance that
 * waited finds nothing left to do), refuses what must not run (65), and loads the pending modules so
 * that a broken one fails here, before anything is written.
 */
export const planStep: Step<MigrationSource[], MigrationPlan> = {
  name: 'plan',
  async run(job, sources) {
    const { config, log } = job;
    const session = sessionOf(job);
    const location = { schema: config.schema, table: config.migrationsTable };
    const plan = planMigrations(sources, await readApplied(session, location), await readLedger(session, location));
    const refusal = planRefusal(plan, config);
    if (refusal) throw refusal;
    if (plan.pending.length > 0 || plan.unrecorded.length > 0)
      requireExclusive(job, `${plan.pending.length + plan.unrecorded.length} migration(s) to apply or record`);
    if (plan.unknown.length > 0) {
      log.warn({
        event: 'plan.unknown_applied',
        names: plan.unknown.map((migration) => migration.name),
        message:
          'proceeding although the database holds migrations this build does not know (PREFLIGHT_ALLOW_UNKNOWN=true)',
      });
    }
    if (plan.outOfOrder.length > 0) {
      log.warn({
        event: 'plan.out_of_order',
        names: plan.outOfOrder.map((source) => source.name),
        message: 'applying migrations older than the newest applied one (PREFLIGHT_ALLOW_OUT_OF_ORDER=true)',
      });
    }
    if (plan.pending.length > 0) await prepareMigrations(plan.pending, config.transactionMode);
    log.info({ event: 'plan.ready', applied: plan.applied.length, pending: plan.pending.length });
    return {
      status: 'applied',
      details: { applied: plan.applied.length, pending: plan.pending.map((source) => source.name) },
      value: plan,
    };
  },
};
