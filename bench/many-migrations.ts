/** 2. Generated migrations on a fresh database: preflight against TypeORM's own CLI. */
import * as path from 'node:path';
import { BenchContext, readReport, stepOf } from './context';
import { generateMigrations, writeTypeormDataSource } from './generate';
import { events, expectSuccess, progress, repoRoot, runNode, runPreflight, scratchDir, type RunResult } from './process';

export interface ManyMigrationsResult {
  count: number;
  runs: number;
  preflightWallMs: number[];
  typeormWallMs: number[];
  preflightRssKb: number[];
  typeormRssKb: number[];
  /** preflight's `migrate` step alone (report), without start-up, wait and check */
  preflightMigrateMs: number[];
}

const typeormDir = path.join(repoRoot, 'node_modules/typeorm');

export async function manyMigrationsBench(context: BenchContext, count: number, runs: number): Promise<ManyMigrationsResult> {
  const dir = path.join(scratchDir(), `migrations-${count}`);
  generateMigrations(dir, count);
  const dataSource = path.join(scratchDir(), 'typeorm-datasource.js');
  writeTypeormDataSource(dataSource, dir, typeormDir);
  progress(`${count} migrations: generated in ${dir}; ${runs} runs each of preflight and typeorm migration:run`);

  const result: ManyMigrationsResult = { count, runs, preflightWallMs: [], typeormWallMs: [], preflightRssKb: [], typeormRssKb: [], preflightMigrateMs: [] };
  for (let run = 0; run < runs; run++) {
    const preflightDb = await context.freshDatabase('many_pf');
    const report = context.reportFile('many');
    const preflight = expectSuccess('preflight run (500 migrations)', await runPreflight(['run'], {
      env: context.preflightEnv({ databaseUrl: preflightDb, extra: { PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_TRANSACTION: 'each', PREFLIGHT_REPORT_FILE: report } }),
      measureRss: true,
    }));
    await assertAppliedOnce(context, preflightDb, count);
    const applied = events(preflight).filter((event) => event.event === 'migration.applied').length;
    if (applied !== count) throw new Error(`preflight logged ${applied} migration.applied events, expected ${count}`);
    result.preflightMigrateMs.push(stepOf(readReport(report), 'migrate').durationMs);

    const typeormDb = await context.freshDatabase('many_to');
    const typeorm = expectSuccess('typeorm migration:run', await runNode(path.join(typeormDir, 'cli.js'), ['migration:run', '-d', dataSource, '-t', 'each'], {
      env: context.preflightEnv({ databaseUrl: typeormDb }),
      measureRss: true,
    }));
    await assertAppliedOnce(context, typeormDb, count);

    result.preflightWallMs.push(preflight.wallMs);
    result.typeormWallMs.push(typeorm.wallMs);
    pushRss(result.preflightRssKb, preflight);
    pushRss(result.typeormRssKb, typeorm);
    progress(`${count} migrations: run ${run + 1}/${runs}: preflight ${Math.round(preflight.wallMs)} ms, typeorm ${Math.round(typeorm.wallMs)} ms`);
  }
  return result;
}

function pushRss(list: number[], result: RunResult): void {
  if (result.peakRssKb !== undefined) list.push(result.peakRssKb);
}

/** Every generated migration recorded exactly once, and its table really there. */
async function assertAppliedOnce(context: BenchContext, url: string, count: number): Promise<void> {
  const [row] = await context.query<{ rows: string; names: string; tables: string }>(url, `
    SELECT (SELECT count(*) FROM migrations) AS rows,
           (SELECT count(DISTINCT name) FROM migrations) AS names,
           (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_%') AS tables`);
  if (Number(row.rows) !== count || Number(row.names) !== count || Number(row.tables) !== count) {
    throw new Error(`expected ${count} migrations applied once: ${JSON.stringify(row)}`);
  }
}
