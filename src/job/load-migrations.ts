import { access } from 'node:fs/promises';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError } from '../core/errors';
import { dataSourceMigrations } from '../postgres/data-source-file';
import type { KnownFile } from '../postgres/known-files';
import { migrationCatalog } from '../postgres/manifest';
import { emptyDirectoryReason, migrationsDirectory, type MigrationSource } from '../postgres/migration-source';

/**
 * The migrations this run works with; files `known` (from the ledger) unchanged are not loaded. Never a silent no-op: zero found is a data error (65) that
 * says what the directory holds, unless PREFLIGHT_ALLOW_EMPTY=true; a stale manifest is reported.
 */
export async function loadMigrations(
  config: Config,
  log: Logger,
  known?: ReadonlyMap<string, KnownFile>,
): Promise<MigrationSource[]> {
  if (config.dataSourceFile !== undefined) return fromDataSource(config, config.dataSourceFile, log);
  const { sources, staleFiles } = await migrationCatalog(config.migrationsPath, known);
  const directory = migrationsDirectory(config.migrationsPath);
  if (staleFiles.length > 0) {
    log.warn({
      event: 'manifest.stale',
      directory,
      files: staleFiles,
      message: `preflight-manifest.json does not list these files or they changed since it was written: they were loaded and checksummed; rebuild (or run preflight manifest ${directory}) to keep the no-op path fast`,
    });
  }
  if (sources.length > 0) return sources;
  if (config.allowEmpty) {
    log.info({ event: 'migrations.none', directory, message: 'no migration found (PREFLIGHT_ALLOW_EMPTY=true)' });
    return sources;
  }
  throw new PreflightError(
    'data',
    `PREFLIGHT_MIGRATIONS: no migration found in ${config.migrationsPath}: ${await emptyDirectoryReason(config.migrationsPath)} (set PREFLIGHT_ALLOW_EMPTY=true if none is intended)`,
  );
}

async function fromDataSource(config: Config, file: string, log: Logger): Promise<MigrationSource[]> {
  const listed = config.dataSourceOptions?.migrations ?? [];
  const entries = Array.isArray(listed) ? listed : Object.values(listed as Record<string, unknown>);
  const sources = await dataSourceMigrations(entries, file, process.cwd());
  if (sources.length > 0) return sources;
  if (config.allowEmpty) {
    log.info({
      event: 'migrations.none',
      dataSource: file,
      message: 'no migration found (PREFLIGHT_ALLOW_EMPTY=true)',
    });
    return sources;
  }
  const patterns = entries.filter((entry) => typeof entry === 'string');
  throw new PreflightError(
    'data',
    `PREFLIGHT_DATASOURCE: the migrations of ${file} (${patterns.join(', ') || 'none listed'}) match no compiled migration in ${process.cwd()}: list them in its migrations option (set PREFLIGHT_ALLOW_EMPTY=true if none is intended)`,
  );
}

/**
 * Fixtures are never skipped silently: a PREFLIGHT_FIXTURES directory that does not exist is a
 * configuration error (78), and platform fixtures without etcd configured earn a warning.
 */
export async function checkFixturesChoice(config: Config, log: Logger): Promise<void> {
  if (config.fixturesDir === null) return;
  if (config.fixturesExplicit) {
    await access(config.fixturesDir).catch((error: NodeJS.ErrnoException) => {
      throw new PreflightError(
        'config',
        `PREFLIGHT_FIXTURES: ${config.fixturesDir} does not exist (${error.code ?? 'unreadable'}): fix the path, or set PREFLIGHT_FIXTURES=off`,
      );
    });
  }
  if (!config.etcd) {
    log.warn({
      event: 'fixtures.no_etcd',
      fixturesDir: config.fixturesDir,
      message:
        'ETCD_ENDPOINTS is not set, so the etcd fixtures are not applied: set ETCD_ENDPOINTS, or PREFLIGHT_FIXTURES=off if the platform runs without them',
    });
  }
}
