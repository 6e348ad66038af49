import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { readLedger } from '../postgres/ledger';
import { migrationCatalog } from '../postgres/manifest';
import { readApplied } from '../postgres/migrations-table';
import { planFixtureSync, type FixtureSync } from './fixtures-sync';
import { planMigrations, planRefusal } from './plan';
import { waitForPostgres } from './wait-for-stores';

/** The database compared with this build, without changing anything. */
export interface Status {
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
  const sync = options.fixtures && config.etcd ? await planFixtureSync(config, log, signal) : undefined;
  const fixtures = sync && {
    state: sync.state,
    changedFiles: sync.changedFiles,
    puts: sync.puts,
    deletes: sync.deletes,
  };
  const sources = await migrationCatalog(config.migrationsPath);
  const client = await waitForPostgres(config, log, signal);
  try {
    const location = { schema: config.schema, table: config.migrationsTable };
    const plan = planMigrations(sources, await readApplied(client, location), await readLedger(client, location));
    const refusal = planRefusal(plan, config);
    return {
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
