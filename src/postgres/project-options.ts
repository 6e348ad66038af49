/**
 * The project's data source options (PREFLIGHT_DATASOURCE: entities, naming strategy, extra) as
 * they go into the DataSource preflight runs migrations on: never its migrations, synchronize or
 * migrationsRun (preflight runs them itself, under its lock), never its connection (set after this).
 */
export function projectOptions(options: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...options, migrations: [], synchronize: false, migrationsRun: false, dropSchema: false };
}
