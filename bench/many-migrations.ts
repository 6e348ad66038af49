/** 2. Generated migrations on a fresh database: preflight against TypeORM's own CLI. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { postgresBinDir } from '../test/support/binaries';
import { BenchContext, readReport, stepOf } from './context';
import { generateMigrations, writeTypeormDataSource } from './generate';
import {
  baseEnv,
  events,
  expectSuccess,
  progress,
  repoRoot,
  runCommand,
  runNode,
  runPreflight,
  scratchDir,
} from './process';

export interface ManyMigrationsResult {
  count: number;
  runs: number;
  preflightWallMs: number[];
  typeormWallMs: number[];
  preflightRssKb: number[];
  typeormRssKb: number[];
  preflightCpuMs: number[];
  typeormCpuMs: number[];
  /** preflight's `migrate` step alone (report), without start-up, wait and check */
  preflightMigrateMs: number[];
  /** the fresh-database fast path (DESIGN §5): the same migrations with a `preflight baseline` snapshot beside them */
  baseline?: { writeMs: number; wallMs: number[]; migrateStepMs: number[]; rssKb: number[]; psqlWallMs: number[] };
  /** why the baseline path was not measured */
  baselineSkipped?: string;
}

const typeormDir = path.join(repoRoot, 'node_modules/typeorm');

export async function manyMigrationsBench(
  context: BenchContext,
  count: number,
  runs: number,
): Promise<ManyMigrationsResult> {
  const dir = path.join(scratchDir(), `migrations-${count}`);
  generateMigrations(dir, count);
  const dataSource = path.join(scratchDir(), 'typeorm-datasource.js');
  writeTypeormDataSource(dataSource, dir, typeormDir);
  progress(
    `${count} migrations: generated in ${dir}; ${runs} runs each of preflight (replay), typeorm migration:run, preflight (baseline snapshot) and psql -1 -f baseline.sql`,
  );
  const snapshot = await writeSnapshot(context, dir);

  const result: ManyMigrationsResult = {
    count,
    runs,
    preflightWallMs: [],
    typeormWallMs: [],
    preflightRssKb: [],
    typeormRssKb: [],
    preflightCpuMs: [],
    typeormCpuMs: [],
    preflightMigrateMs: [],
  };
  for (let run = 0; run < runs; run++) {
    const preflightDb = await context.freshDatabase('many_pf');
    const report = context.reportFile('many');
    const preflight = expectSuccess(
      'preflight run (500 migrations)',
      await runPreflight(['run'], {
        env: context.preflightEnv({
          databaseUrl: preflightDb,
          extra: { PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_TRANSACTION: 'each', PREFLIGHT_REPORT_FILE: report },
        }),
        measureRss: true,
      }),
    );
    await assertAppliedOnce(context, preflightDb, count);
    const applied = events(preflight).filter((event) => event.event === 'migration.applied').length;
    if (applied !== count) throw new Error(`preflight logged ${applied} migration.applied events, expected ${count}`);
    result.preflightMigrateMs.push(stepOf(readReport(report), 'migrate').durationMs);

    const typeormDb = await context.freshDatabase('many_to');
    const typeorm = expectSuccess(
      'typeorm migration:run',
      await runNode(path.join(typeormDir, 'cli.js'), ['migration:run', '-d', dataSource, '-t', 'each'], {
        env: { ...baseEnv(), DATABASE_URL: typeormDb },
        measureRss: true,
      }),
    );
    await assertAppliedOnce(context, typeormDb, count);

    result.preflightWallMs.push(preflight.wallMs);
    result.typeormWallMs.push(typeorm.wallMs);
    pushMeasured(result.preflightRssKb, preflight.peakRssKb);
    pushMeasured(result.typeormRssKb, typeorm.peakRssKb);
    pushMeasured(result.preflightCpuMs, preflight.cpuMs);
    pushMeasured(result.typeormCpuMs, typeorm.cpuMs);

    let baselineNote = '';
    if (snapshot.dir) {
      const baselineDb = await context.freshDatabase('many_bl');
      const baselineReport = context.reportFile('many-baseline');
      const fast = expectSuccess(
        'preflight run (500 migrations, baseline snapshot)',
        await runPreflight(['run'], {
          env: context.preflightEnv({
            databaseUrl: baselineDb,
            extra: {
              PREFLIGHT_MIGRATIONS: snapshot.dir,
              PREFLIGHT_BASELINE: 'true',
              PREFLIGHT_TRANSACTION: 'each',
              PREFLIGHT_REPORT_FILE: baselineReport,
            },
          }),
          measureRss: true,
        }),
      );
      await assertAppliedOnce(context, baselineDb, count);
      const migrate = stepOf(readReport(baselineReport), 'migrate');
      if (migrate.details?.baseline !== count)
        throw new Error(`the baseline run did not take the snapshot: migrate step ${JSON.stringify(migrate)}`);
      result.baseline ??= { writeMs: snapshot.writeMs, wallMs: [], migrateStepMs: [], rssKb: [], psqlWallMs: [] };
      result.baseline.wallMs.push(fast.wallMs);
      result.baseline.migrateStepMs.push(migrate.durationMs);
      pushMeasured(result.baseline.rssKb, fast.peakRssKb);
      const psql = await psqlFloor(context, path.join(snapshot.dir, 'baseline.sql'), count);
      result.baseline.psqlWallMs.push(psql);
      baselineNote = `, baseline ${Math.round(fast.wallMs)} ms, psql -1 -f baseline.sql ${Math.round(psql)} ms`;
    }
    progress(
      `${count} migrations: run ${run + 1}/${runs}: preflight ${Math.round(preflight.wallMs)} ms, typeorm ${Math.round(typeorm.wallMs)} ms${baselineNote}`,
    );
  }
  if (!snapshot.dir) result.baselineSkipped = snapshot.skipped;
  return result;
}

/**
 * A copy of the migrations with `baseline.sql` beside them, written by `preflight baseline` (which
 * replays them on a scratch database and pg_dumps it). The replay runs use the directory without it.
 */
async function writeSnapshot(
  context: BenchContext,
  dir: string,
): Promise<{ dir?: string; writeMs: number; skipped?: string }> {
  const withSnapshot = `${dir}-baseline`;
  fs.cpSync(dir, withSnapshot, { recursive: true });
  const env = context.preflightEnv({
    databaseUrl: await context.freshDatabase('many_snap'),
    extra: { PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_REPORT_FILE: 'none' },
  });
  env.PATH = `${postgresBinDir()}${path.delimiter}${env.PATH}`;
  const written = await runPreflight(['baseline', '--out', path.join(withSnapshot, 'baseline.sql')], { env });
  if (written.code !== 0) {
    const reason =
      `\`preflight baseline\` exited with ${written.code}: ${written.stdout.trim().split('\n').pop() ?? ''}`.slice(
        0,
        300,
      );
    progress(`${path.basename(dir)}: baseline path not measured: ${reason}`);
    return { writeMs: written.wallMs, skipped: reason };
  }
  return { dir: withSnapshot, writeMs: written.wallMs };
}

/** The psql binary beside the server binaries (Debian's /usr/bin/psql is a Perl wrapper), else PATH's. */
export function psqlBinary(): string {
  try {
    const beside = path.join(postgresBinDir(), 'psql');
    if (fs.existsSync(beside)) return beside;
  } catch {
    // no server binaries found: psql from PATH
  }
  return 'psql';
}

/**
 * PostgreSQL's own floor for the baseline path: `psql -1 -f baseline.sql` into a fresh database
 * (one transaction, stop at the first error), wall time from spawn to exit. Checked to create
 * every table.
 */
async function psqlFloor(context: BenchContext, file: string, count: number): Promise<number> {
  const url = await context.freshDatabase('many_psql');
  const run = expectSuccess(
    'psql -1 -f baseline.sql',
    await runCommand(psqlBinary(), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file, '-d', url], {
      env: baseEnv(),
    }),
  );
  const [row] = await context.query<{ tables: string }>(
    url,
    `SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_%'`,
  );
  if (Number(row.tables) !== count) throw new Error(`psql -1 -f baseline.sql created ${row.tables} of ${count} tables`);
  return run.wallMs;
}

function pushMeasured(list: number[], value: number | undefined): void {
  if (value !== undefined) list.push(value);
}

/** Every generated migration recorded exactly once, and its table really there. */
async function assertAppliedOnce(context: BenchContext, url: string, count: number): Promise<void> {
  const [row] = await context.query<{ rows: string; names: string; tables: string }>(
    url,
    `
    SELECT (SELECT count(*) FROM migrations) AS rows,
           (SELECT count(DISTINCT name) FROM migrations) AS names,
           (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_%') AS tables`,
  );
  if (Number(row.rows) !== count || Number(row.names) !== count || Number(row.tables) !== count) {
    throw new Error(`expected ${count} migrations applied once: ${JSON.stringify(row)}`);
  }
}
