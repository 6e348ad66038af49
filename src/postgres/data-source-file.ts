import { PreflightError, reasonOf } from '../core/errors';
import { scanMigrations } from './manifest';
import { textChecksum } from './migration-checksum';
import {
  checkedOrder,
  loadModule,
  migrationIdentity,
  type MigrationClass,
  type MigrationSource,
} from './migration-source';

/** The options of a TypeORM DataSource, as the project wrote them. */
export type DataSourceOptions = Record<string, unknown>;

function isDataSource(value: unknown): value is { options: DataSourceOptions } {
  const candidate = value as { options?: unknown; initialize?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.initialize === 'function' &&
    typeof candidate.options === 'object' &&
    candidate.options !== null
  );
}

/**
 * The options of the DataSource a compiled file exports (what `typeorm migration:run -d` takes):
 * CommonJS or ESM, `module.exports =`, a default export or a named one. Nothing is connected.
 */
export async function readDataSourceFile(file: string): Promise<DataSourceOptions> {
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = await loadModule(file);
  } catch (error) {
    throw new PreflightError(
      'config',
      `PREFLIGHT_DATASOURCE: ${file} cannot be loaded: ${reasonOf(error).split('\n')[0]}`,
      {
        cause: error,
      },
    );
  }
  const candidates = [moduleExports, moduleExports.default, ...Object.values(moduleExports)];
  const found = candidates.find(isDataSource);
  if (!found) {
    throw new PreflightError(
      'config',
      `PREFLIGHT_DATASOURCE: ${file} exports no DataSource (expected e.g. export default new DataSource({...}) or export const AppDataSource = new DataSource({...}))`,
    );
  }
  if (found.options.type !== 'postgres') {
    throw new PreflightError(
      'config',
      `PREFLIGHT_DATASOURCE: ${file} is a ${String(found.options.type)} data source; preflight runs PostgreSQL migrations only`,
    );
  }
  return found.options;
}

/**
 * The migrations a data source lists, as TypeORM reads them: glob patterns (relative to the working
 * directory) of compiled files, and migration classes given directly.
 */
export async function dataSourceMigrations(entries: unknown[], file: string, cwd: string): Promise<MigrationSource[]> {
  const patterns = entries.filter((entry): entry is string => typeof entry === 'string');
  const { glob } = await import('tinyglobby');
  const files = (
    await glob(
      patterns.map((pattern) => pattern.replace(/\\/g, '/')),
      { absolute: true, cwd },
    )
  ).sort();
  const sources = await scanMigrations(files);
  for (const entry of entries) {
    if (typeof entry !== 'function') continue;
    const migrationClass = entry as MigrationClass;
    const checksum = textChecksum(migrationClass.toString());
    sources.push({
      ...migrationIdentity(migrationClass, file),
      file,
      checksum,
      compiledChecksum: checksum,
      checksumFrom: 'compiled',
      load: async () => migrationClass,
    });
  }
  return checkedOrder(sources);
}
