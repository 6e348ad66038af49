import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { readLedger, type LedgerRow } from '../postgres/ledger';
import { loadMigrations } from './load-migrations';
import { readApplied } from '../postgres/migrations-table';
import { planFixtureSync, type FixtureSync } from './fixtures-sync';
import { planMigrations, planRefusal, type MigrationPlan } from './plan';
import { waitForPostgres } from './wait-for-stores';

/** One migration as `status` shows it. */
export interface StatusRow {
  name: string;
  /** partial: started outside a transaction and never finished (resolved by preflight repair) */
  state: 'applied' | 'pending' | 'unknown' | 'drifted' | 'partial';
  /** when preflight recorded it; null when pending or applied without preflight's ledger */
  appliedAt: string | null;
  durationMs: number | null;
}

/** The database compared with this build, without changing anything. */
export interface Status {
  /** every migration of the build and the database, oldest first */
  migrations: StatusRow[];
  database: string;
  applied: string[];
  pending: string[];
  /** applied in the database, unknown to this build */
  unknown: string[];
  /** applied, but edited since (checksum differs) */
  drifted: string[];
  /** pending, but older than the newest applied migration */
  outOfOrder: string[];
  /** `up-to-date` (exit 0), `pending` (exit 3) or `inconsistent` (exit 65) */
  state: 'up-to-date' | 'pending' | 'inconsistent';
  /** why the state is inconsistent: the refusal `run` would give */
  problem?: string;
  /** etcd fixtures (when etcd is configured and asked for): in-sync, or the files an apply would write */
  fixtures?: Pick<FixtureSync, 'state' | 'changedFiles' | 'puts' | 'deletes'>;
}

/** `fixtures: true` (status, not verify) also plans the etcd fixtures; changes there make the state pending. */
export async function status(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  options: { fixtures?: boolean } = {},
): Promise<Status> {
  const sync =
    options.fixtures && config.etcd && config.fixturesDir !== null
      ? await planFixtureSync(config, log, signal)
      : undefined;
  const fixtures = sync && {
    state: sync.state,
    changedFiles: sync.changedFiles,
    puts: sync.puts,
    deletes: sync.deletes,
  };
  const sources = await loadMigrations(config, log);
  const client = await waitForPostgres(config, log, signal);
  try {
    const location = { schema: config.schema, table: config.migrationsTable };
    const ledger = await readLedger(client, location);
    const plan = planMigrations(sources, await readApplied(client, location), ledger);
    const refusal = planRefusal(plan, config);
    return {
      migrations: statusRows(plan, ledger),
      database: config.postgres.database,
      applied: plan.applied.map((migration) => migration.name),
      pending: plan.pending.map((source) => source.name),
      unknown: plan.unknown.map((migration) => migration.name),
      drifted: plan.drifted.map((drift) => drift.name),
      outOfOrder: plan.outOfOrder.map((source) => source.name),
      state: refusal
        ? 'inconsistent'
        : plan.pending.length > 0 || fixtures?.state === 'changes'
          ? 'pending'
          : 'up-to-date',
      problem: refusal?.message,
      fixtures,
    };
  } finally {
    await client.end();
  }
}

/** Applied migrations in the order applied, then the pending ones, each with its state and its ledger record. */
function statusRows(plan: MigrationPlan, ledger: Map<string, LedgerRow>): StatusRow[] {
  const drifted = new Set(plan.drifted.map((drift) => drift.name));
  const unknown = new Set(plan.unknown.map((migration) => migration.name));
  const applied = plan.applied.map((migration): StatusRow => {
    const recorded = ledger.get(migration.name);
    return {
      name: migration.name,
      state: drifted.has(migration.name) ? 'drifted' : unknown.has(migration.name) ? 'unknown' : 'applied',
      appliedAt: recorded?.appliedAt ?? null,
      durationMs: recorded?.durationMs ?? null,
    };
  });
  const pending = plan.pending.map((source): StatusRow => ({
    name: source.name,
    state: 'pending',
    appliedAt: null,
    durationMs: null,
  }));
  return [...applied, ...pending];
}
