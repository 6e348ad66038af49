import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { readApplied } from '../postgres/migrations-table';
import { loadMigrations } from '../postgres/migration-source';
import { planMigrations } from './plan';
import { waitForPostgres } from './wait-for-stores';

/** The database compared with this build, without changing anything. */
export interface Status {
  database: string;
  applied: string[];
  pending: string[];
  unknown: string[];
  /** `up-to-date` (exit 0), `pending` (exit 3) or `inconsistent` (exit 65) */
  state: 'up-to-date' | 'pending' | 'inconsistent';
}

export async function status(config: Config, log: Logger, signal: AbortSignal): Promise<Status> {
  const sources = await loadMigrations(config.migrationsPath);
  const client = await waitForPostgres(config, log, signal);
  try {
    const plan = planMigrations(sources, await readApplied(client, { schema: config.schema, table: config.migrationsTable }));
    const unknown = plan.unknown.map((migration) => migration.name);
    const pending = plan.pending.map((source) => source.name);
    return {
      database: config.postgres.database,
      applied: plan.applied.map((migration) => migration.name),
      pending,
      unknown,
      state: unknown.length > 0 ? 'inconsistent' : pending.length > 0 ? 'pending' : 'up-to-date',
    };
  } finally {
    await client.end();
  }
}
