/** 4. A 10,000-key fixture file: first apply and unchanged re-run, against plain batched etcd3 puts. */
import * as path from 'node:path';
import { BenchContext, readReport, stepOf } from './context';
import { generateFixture, type FixtureShape } from './generate';
import { baseEnv, expectSuccess, progress, runNode, runPreflight, scratchDir } from './process';

export interface FixturesResult {
  keys: number;
  firstRuns: number;
  rerunRuns: number;
  firstWallMs: number[];
  /** the report's `fixtures` step (plan + write) */
  firstFixturesStepMs: number[];
  /** the report's `check` step (read, parse and validate the file, among the rest) */
  firstCheckStepMs: number[];
  rerunWallMs: number[];
  rerunFixturesStepMs: number[];
  rerunCheckStepMs: number[];
  /** etcd revisions an unchanged re-run moved (0 when it wrote nothing) */
  rerunRevisionMoves: number;
  baselineWallMs: number[];
  baselineWriteMs: number[];
}

export async function fixturesBench(
  context: BenchContext,
  shape: FixtureShape,
  firstRuns: number,
  rerunRuns: number,
): Promise<FixturesResult> {
  const keys = shape.groups * shape.keysPerGroup;
  const dir = path.join(scratchDir(), 'fixtures-bench');
  generateFixture(dir, shape);
  // A database already at head, so the job's only work is the fixture file.
  const databaseUrl = await context.freshDatabase('fixtures');
  const envFor = (namespace: string, report: string) =>
    context.preflightEnv({
      databaseUrl,
      namespace,
      redis: true,
      extra: { PREFLIGHT_FIXTURES: dir, PREFLIGHT_REPORT_FILE: report },
    });
  // The platform's migrations may read etcd and Redis, so this set-up run gets all three stores.
  const setupEnv = context.preflightEnv({
    databaseUrl,
    namespace: context.freshNamespace('fixtures-setup'),
    redis: true,
    extra: { PREFLIGHT_REPORT_FILE: 'none' },
  });
  expectSuccess('preflight run (migrations for the fixtures database)', await runPreflight(['run'], { env: setupEnv }));

  const result: FixturesResult = {
    keys,
    firstRuns,
    rerunRuns,
    firstWallMs: [],
    firstFixturesStepMs: [],
    firstCheckStepMs: [],
    rerunWallMs: [],
    rerunFixturesStepMs: [],
    rerunCheckStepMs: [],
    rerunRevisionMoves: 0,
    baselineWallMs: [],
    baselineWriteMs: [],
  };
  progress(
    `${keys} fixture keys: ${firstRuns} first applies (fresh namespaces) and baseline runs, ${rerunRuns} unchanged re-runs`,
  );
  let lastNamespace = '';
  for (let run = 0; run < firstRuns; run++) {
    const namespace = context.freshNamespace('fixtures');
    const report = context.reportFile('fixtures');
    const first = expectSuccess(
      'preflight run (fixtures, first apply)',
      await runPreflight(['run'], { env: envFor(namespace, report) }),
    );
    const written = await context.etcdKeyCount(namespace);
    if (written !== keys + 1)
      throw new Error(`first apply wrote ${written} keys under ${namespace}, expected ${keys} and the hash record`);
    result.firstWallMs.push(first.wallMs);
    result.firstFixturesStepMs.push(stepOf(readReport(report), 'fixtures').durationMs);
    result.firstCheckStepMs.push(stepOf(readReport(report), 'check').durationMs);
    lastNamespace = namespace;

    const baselineNamespace = context.freshNamespace('baseline');
    const baseline = expectSuccess(
      'etcd baseline',
      await runNode(path.join(__dirname, 'etcd-baseline.js'), [], {
        env: {
          ...baseEnv(),
          ETCD_ENDPOINTS: context.info.etcd.endpoint,
          ETCD_USERNAME: context.info.etcd.username,
          ETCD_PASSWORD: context.info.etcd.password,
          ETCD_NAMESPACE: baselineNamespace,
          BENCH_GROUPS: String(shape.groups),
          BENCH_KEYS_PER_GROUP: String(shape.keysPerGroup),
        },
      }),
    );
    const baselineKeys = await context.etcdKeyCount(baselineNamespace);
    if (baselineKeys !== keys) throw new Error(`the baseline wrote ${baselineKeys} keys, expected ${keys}`);
    result.baselineWallMs.push(baseline.wallMs);
    result.baselineWriteMs.push((JSON.parse(baseline.stdout) as { writeMs: number }).writeMs);
  }

  for (let run = 0; run < rerunRuns; run++) {
    const report = context.reportFile('fixtures-rerun');
    const before = await context.etcdRevision();
    const rerun = expectSuccess(
      'preflight run (fixtures, unchanged)',
      await runPreflight(['run'], { env: envFor(lastNamespace, report) }),
    );
    const after = await context.etcdRevision();
    const fixtures = stepOf(readReport(report), 'fixtures');
    if (fixtures.status !== 'unchanged') throw new Error(`unchanged re-run: fixtures step is ${fixtures.status}`);
    result.rerunRevisionMoves += Number(after) - Number(before);
    result.rerunWallMs.push(rerun.wallMs);
    result.rerunFixturesStepMs.push(fixtures.durationMs);
    result.rerunCheckStepMs.push(stepOf(readReport(report), 'check').durationMs);
  }
  return result;
}
