/** 3. N instances started at once on a fresh database and namespace, against one instance alone. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchContext } from './context';
import { events, progress, repoRoot, runPreflight, type RunResult } from './process';
import { median } from './stats';

export interface ConcurrentResult {
  instances: number;
  rounds: number;
  allWallMs: number[];
  aloneWallMs: number[];
  /** exit codes of every instance of every round that were not 0 */
  nonZeroExits: Array<number | string>;
  /** migrations recorded more than once, over every round */
  duplicateRows: number;
  /** migration.applied / fixtures.file.applied events that exceeded one per migration / file */
  duplicateApplications: number;
  /** the platform migrations every round must record */
  expectedMigrations: number;
  /** per round of N: the longest lock wait of any instance */
  maxLockWaitMs: number[];
  /** per round: median over the instances of spawn → `job.started` (start-up, CPU-bound) */
  allStartupMs: number[];
  aloneStartupMs: number[];
  /** per round: user + system CPU time of all instances together */
  allCpuMs: number[];
  aloneCpuMs: number[];
  /** how the fresh databases were brought to head: `baseline snapshot` or `replay` */
  paths: Set<string>;
}

export async function concurrentBench(
  context: BenchContext,
  instances: number,
  rounds: number,
): Promise<ConcurrentResult> {
  const platformMigrations = fs
    .readdirSync(path.join(repoRoot, 'dist/migrations'))
    .filter((name) => name.endsWith('.js')).length;
  const platformFixtures = fs
    .readdirSync(path.join(repoRoot, 'fixtures/etcd'))
    .filter((name) => /\.ya?ml$/.test(name)).length;
  const result: ConcurrentResult = {
    instances,
    rounds,
    allWallMs: [],
    aloneWallMs: [],
    nonZeroExits: [],
    duplicateRows: 0,
    duplicateApplications: 0,
    expectedMigrations: platformMigrations,
    maxLockWaitMs: [],
    allStartupMs: [],
    aloneStartupMs: [],
    allCpuMs: [],
    aloneCpuMs: [],
    paths: new Set(),
  };
  progress(
    `${instances} at once: ${rounds} rounds, each against one instance alone (PostgreSQL + etcd + Redis, platform migrations and fixtures)`,
  );
  for (let round = 0; round < rounds; round++) {
    const alone = await startRound(context, 1, platformMigrations, platformFixtures, result);
    const all = await startRound(context, instances, platformMigrations, platformFixtures, result);
    result.aloneWallMs.push(alone.wallMs);
    result.allWallMs.push(all.wallMs);
    result.aloneStartupMs.push(alone.startupMs);
    result.allStartupMs.push(all.startupMs);
    result.aloneCpuMs.push(alone.cpuMs);
    result.allCpuMs.push(all.cpuMs);
    progress(
      `${instances} at once: round ${round + 1}/${rounds}: all exited after ${Math.round(all.wallMs)} ms, alone ${Math.round(alone.wallMs)} ms`,
    );
  }
  return result;
}

interface Round {
  /** until the last instance exited */
  wallMs: number;
  /** median spawn → job.started */
  startupMs: number;
  /** all instances' CPU time */
  cpuMs: number;
}

/** Starts `count` instances at the same moment and checks that the work was done exactly once. */
async function startRound(
  context: BenchContext,
  count: number,
  migrations: number,
  fixtures: number,
  result: ConcurrentResult,
): Promise<Round> {
  const databaseUrl = await context.freshDatabase(`conc${count}`);
  const env = context.preflightEnv({
    databaseUrl,
    namespace: context.freshNamespace(`conc${count}`),
    redis: true,
    extra: { PREFLIGHT_REPORT_FILE: 'none' },
  });
  const started = performance.now();
  const runs = await Promise.all(Array.from({ length: count }, () => runPreflight(['run'], { env, measureRss: true })));
  const wallMs = performance.now() - started;
  for (const run of runs) if (run.code !== 0) result.nonZeroExits.push(run.code ?? String(run.signal));

  const rows = await context.query<{ name: string; copies: string }>(
    databaseUrl,
    'SELECT name, count(*) AS copies FROM migrations GROUP BY name',
  );
  if (rows.length !== migrations)
    throw new Error(`${count} at once: ${rows.length} distinct migrations recorded, expected ${migrations}`);
  result.duplicateRows += rows.reduce((sum, row) => sum + Number(row.copies) - 1, 0);
  // A fresh database takes the baseline snapshot when one is shipped: its event names how many it covered.
  const applied = countEvents(runs, 'migration.applied') + sumField(runs, 'baseline.applied', 'migrations');
  result.paths.add(countEvents(runs, 'baseline.applied') > 0 ? 'baseline snapshot' : 'replay');
  const filesApplied = countEvents(runs, 'fixtures.file.applied');
  result.duplicateApplications += Math.max(0, applied - migrations) + Math.max(0, filesApplied - fixtures);
  if (applied < migrations || filesApplied < fixtures)
    throw new Error(
      `${count} at once: ${applied} migrations and ${filesApplied} fixture files applied, expected ${migrations} and ${fixtures}`,
    );
  if (count > 1) {
    const waits = runs.flatMap((run) =>
      events(run)
        .filter((event) => event.event === 'lock.acquired')
        .map((event) => Number(event.waitedMs)),
    );
    result.maxLockWaitMs.push(Math.max(...waits));
  }
  const startups = runs.map((run) => {
    const started = events(run).find((event) => event.event === 'job.started');
    return typeof started?.timestamp === 'string' ? Date.parse(started.timestamp) - run.spawnedAtEpochMs : Number.NaN;
  });
  return { wallMs, startupMs: median(startups), cpuMs: runs.reduce((sum, run) => sum + (run.cpuMs ?? Number.NaN), 0) };
}

function sumField(runs: readonly RunResult[], name: string, field: string): number {
  return runs.reduce(
    (sum, run) =>
      sum +
      events(run)
        .filter((event) => event.event === name)
        .reduce((inner, event) => inner + Number(event[field] ?? 0), 0),
    0,
  );
}

function countEvents(runs: readonly RunResult[], name: string): number {
  return runs.reduce((sum, run) => sum + events(run).filter((event) => event.event === name).length, 0);
}
