import { hostname } from 'node:os';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../core/errors';
import { preflightVersion } from '../core/version';
import { ensureLedger, ledgerName } from './ledger';
import { ensureMigrationsTable, qualifiedName, type MigrationsTable } from './migrations-table';
import { migrationsDirectory, type MigrationSource } from './migration-source';
import { attachMigrationContext, type BaselineRunner, type MigrationContext } from './migration-context';

/** The snapshot beside the compiled migrations (copied there by the build from migrations/baseline.sql). */
export const baselineFileName = 'baseline.sql';
/** First line of a snapshot: this prefix and `{"migrations": [names]}`. */
export const baselineHeaderPrefix = '-- preflight baseline: ';

/**
 * On an empty database, applies the shipped snapshot in one transaction and records the migrations
 * it covers as applied (TypeORM's rows and the ledger's); returns their names, or [] when the
 * baseline does not apply (no snapshot, or the database is not empty).
 */
export async function applyBaseline(
  client: Client,
  migrationsPath: string,
  location: MigrationsTable,
  sources: MigrationSource[],
  log: Logger,
  stores: Omit<MigrationContext, 'log'>,
): Promise<string[]> {
  const file = join(migrationsDirectory(migrationsPath), baselineFileName);
  try {
    await access(file);
  } catch {
    // No snapshot shipped: replay every migration.
    return [];
  }
  const tables = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 LIMIT 1`, [location.schema]);
  if (tables.rowCount !== 0) return [];
  const started = performance.now();
  const text = await readFile(file, 'utf8');
  const header = text.slice(0, text.indexOf('\n'));
  if (!header.startsWith(baselineHeaderPrefix))
    throw new PreflightError(
      'data',
      `${file} is not a preflight baseline (no header): regenerate it with preflight baseline`,
    );
  let covered: string[];
  try {
    covered = (JSON.parse(header.slice(baselineHeaderPrefix.length)) as { migrations: string[] }).migrations;
    if (!Array.isArray(covered)) throw new Error('no "migrations" list');
  } catch (error) {
    throw new PreflightError(
      'data',
      `${file}: the header is not valid (${reasonOf(error)}): regenerate it with preflight baseline`,
    );
  }
  const byName = new Map(sources.map((source) => [source.name, source]));
  const strangers = covered.filter((name) => !byName.has(name));
  if (strangers.length > 0)
    throw new PreflightError(
      'data',
      `${file} covers ${strangers.join(', ')}, which this build does not contain: regenerate it with preflight baseline`,
    );
  await client.query('BEGIN');
  try {
    await client.query(text);
    await client.query('RESET ALL');
    await ensureMigrationsTable(client, location);
    await ensureLedger(client, location);
    await runBaselineData(
      client,
      covered.map((name) => byName.get(name)!),
      { ...stores, log },
    );
    // Two statements for any number of migrations; WITH ORDINALITY keeps TypeORM's ids in migration order.
    const coveredSources = covered.map((name) => byName.get(name)!);
    await client.query(
      `INSERT INTO ${qualifiedName(location)} ("timestamp", "name")
       SELECT t, n FROM unnest($1::bigint[], $2::varchar[]) WITH ORDINALITY AS u(t, n, o) ORDER BY o`,
      [coveredSources.map((source) => source.timestamp), covered],
    );
    await client.query(
      `INSERT INTO ${ledgerName(location)} (name, checksum, duration_ms, applied_by, preflight_version, adopted)
       SELECT n, c, NULL, $3, $4, false FROM unnest($1::varchar[], $2::char(64)[]) AS u(n, c)`,
      [covered, coveredSources.map((source) => source.checksum), hostname(), preflightVersion],
    );
    await client.query('COMMIT');
  } catch (error) {
    // A failing ROLLBACK or RESET (the connection is gone) must not hide why the baseline failed.
    await client.query('ROLLBACK').catch(() => undefined);
    throw new PreflightError(
      'software',
      `baseline ${file} failed: ${reasonOf(error)} (rolled back; set PREFLIGHT_BASELINE=false to replay the migrations instead)`,
      { cause: error },
    );
  } finally {
    await client.query('RESET ALL').catch(() => undefined);
  }
  log.info({
    event: 'baseline.applied',
    migrations: covered.length,
    durationMs: Math.round(performance.now() - started),
  });
  return covered;
}

/** Each covered migration's `baselineData` (effects beyond the schema), in order, inside the snapshot's transaction. */
async function runBaselineData(client: Client, covered: MigrationSource[], context: MigrationContext): Promise<void> {
  const runner: BaselineRunner = {
    query: async (sql, parameters) => (await client.query(sql, parameters)).rows,
    data: {},
  };
  attachMigrationContext(runner, context);
  for (const source of covered) {
    if (!(await mayHaveBaselineData(source.file))) continue;
    const migration = new (await source.load())() as { baselineData?(runner: BaselineRunner): Promise<void> };
    if (typeof migration.baselineData === 'function') await migration.baselineData(runner);
  }
}

/**
 * False only when the compiled file cannot define `baselineData`: it never names it and declares no
 * subclass (which could inherit it). Saves loading hundreds of modules on the baseline path.
 */
async function mayHaveBaselineData(file: string): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  return text.includes('baselineData') || /\bextends\b/.test(text);
}
