import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { connect, quoteIdentifier } from '../postgres/connection';
import { baselineHeaderPrefix, type BaselineHeader } from '../postgres/apply-baseline';
import type { KnownFile } from '../postgres/known-files';
import type { MigrationSource } from '../postgres/migration-source';
import { loadMigrations } from './load-migrations';
import { failureReason, findPgTool, runPgTool } from '../postgres/pg-tools';
import { PreflightError, reasonOf } from '../core/errors';
import { JobEvents } from '../core/events';
import { runJob } from './run-job';

/**
 * Applies every migration to a scratch database on the configured server, dumps it (schema and
 * whatever rows the migrations insert, without the bookkeeping tables) and writes the snapshot with
 * a header naming the migrations it covers. Returns those names.
 */
export async function writeBaseline(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  outFile: string,
): Promise<string[]> {
  const pgDump = findPgTool('pg_dump', config.environment.PATH);
  if (!pgDump) throw new PreflightError('config', 'preflight baseline needs pg_dump: install postgresql-client');
  const scratch = `preflight_baseline_${randomBytes(4).toString('hex')}`;
  const admin = await connect(config.postgres, config.applicationName, 'postgres');
  const workDir = await mkdtemp(join(tmpdir(), 'preflight-baseline-'));
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(scratch)}`);
    const scratchConfig: Config = {
      ...config,
      postgres: { ...config.postgres, database: scratch },
      etcd: undefined,
      redis: undefined,
      backupDir: undefined,
      secretsDir: undefined,
      baseline: false,
      reportFile: null,
    };
    const names: string[] = [];
    const events = new JobEvents();
    events.on((event) => {
      if (event.type === 'migration.finished' && event.direction === 'up') names.push(event.name);
    });
    const outcome = await runJob(scratchConfig, log, signal, events);
    if (outcome.error !== undefined) throw outcome.error;
    const dumpFile = join(workDir, 'dump.sql');
    const location = { schema: config.schema, table: config.migrationsTable };
    const excluded = [location.table, `preflight_${location.table}`].map(
      (table) => `--exclude-table=${quoteIdentifier(location.schema)}.${quoteIdentifier(table)}`,
    );
    const result = await runPgTool(
      pgDump,
      [
        '--format=plain',
        '--inserts',
        '--rows-per-insert=500',
        '--no-owner',
        '--no-privileges',
        '--no-password',
        ...excluded,
        '--file',
        dumpFile,
      ],
      { settings: config.postgres, applicationName: config.applicationName, database: scratch },
      config.environment,
      signal,
    );
    if (result.exitCode !== 0)
      throw new PreflightError('software', `preflight baseline: pg_dump failed: ${failureReason(result.stderr)}`);
    // Executed as plain SQL, so rows come as INSERTs (not COPY) and pg_dump's \restrict psql commands are dropped.
    const sql = (await readFile(dumpFile, 'utf8'))
      .split('\n')
      .filter((line) => !/^\\(un)?restrict /.test(line))
      .join('\n');
    const header: BaselineHeader = { migrations: names, files: knownFilesOf(await loadMigrations(config, log), names) };
    await writeFile(outFile, `${baselineHeaderPrefix}${JSON.stringify(header)}\n${sql}`);
    log.info({ event: 'baseline.written', file: outFile, migrations: names.length });
    return names;
  } finally {
    await admin
      .query(`DROP DATABASE IF EXISTS ${quoteIdentifier(scratch)} WITH (FORCE)`)
      .catch((error: unknown) =>
        log.warn({ event: 'baseline.cleanup_failed', database: scratch, error: reasonOf(error) }),
      );
    await admin.end();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The compiled files of the covered migrations, for the snapshot's header (see baselineKnownFiles). */
function knownFilesOf(sources: MigrationSource[], covered: string[]): Record<string, KnownFile> {
  const files: Record<string, KnownFile> = {};
  const coveredNames = new Set(covered);
  for (const source of sources) {
    const file = basename(source.file);
    files[file] ??= { compiledChecksum: source.compiledChecksum, migrations: 0, entries: [] };
    files[file].migrations++;
    if (coveredNames.has(source.name)) files[file].entries.push({ name: source.name, checksum: source.checksum });
  }
  return files;
}
