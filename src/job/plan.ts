import type { AppliedMigration } from '../postgres/migrations-table';
import type { MigrationSource } from '../postgres/migration-source';

/** What the build holds compared with what the database records. */
export interface MigrationPlan {
  applied: AppliedMigration[];
  /** in the build, not in the database, in timestamp order */
  pending: MigrationSource[];
  /** in the database, not in this build (the database is ahead of the code) */
  unknown: AppliedMigration[];
}

export function planMigrations(sources: MigrationSource[], applied: AppliedMigration[]): MigrationPlan {
  const appliedNames = new Set(applied.map((migration) => migration.name));
  const sourceNames = new Set(sources.map((source) => source.name));
  return {
    applied,
    pending: sources.filter((source) => !appliedNames.has(source.name)),
    unknown: applied.filter((migration) => !sourceNames.has(migration.name)),
  };
}
