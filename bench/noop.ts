/** 1. No-op run (everything up to date) against the floor script, plus a start-up profile. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadProfile } from './load-hook';
import { BenchContext, readReport } from './context';
import { baseEnv, cliPath, expectSuccess, loadHookPath, progress, runNode, runPreflight, scratchDir, type RunResult } from './process';
import { summarise, type StartupSummary } from './startup-profile';
import { median } from './stats';

const floorPath = path.join(__dirname, 'floor.js');

export interface NoopResult {
  runs: number;
  preflightWallMs: number[];
  floorWallMs: number[];
  preflightRssKb: number[];
  floorRssKb: number[];
  /** median durationMs of each step of preflight's report */
  stepMs: Record<string, number>;
  preflightProfile: StartupSummary;
  floorProfile: StartupSummary;
}

export async function noopBench(context: BenchContext, runs: number, profileRuns: number): Promise<NoopResult> {
  const databaseUrl = await context.freshDatabase('noop');
  const namespace = context.freshNamespace('noop');
  const report = context.reportFile('noop');
  const env = context.preflightEnv({ databaseUrl, namespace, redis: true, extra: { PREFLIGHT_REPORT_FILE: report } });
  const floorEnv = {
    ...baseEnv(),
    DATABASE_URL: databaseUrl,
    ETCD_ENDPOINTS: context.info.etcd.endpoint,
    ETCD_USERNAME: context.info.etcd.username,
    ETCD_PASSWORD: context.info.etcd.password,
    ETCD_NAMESPACE: namespace,
    REDIS_URL: context.info.redis.url,
  };

  progress('no-op: first run applies the platform migrations and fixtures');
  expectSuccess('preflight run (setup)', await runPreflight(['run'], { env }));
  expectSuccess('floor (warm-up)', await runNode(floorPath, [], { env: floorEnv }));

  const timed = { preflightWallMs: [] as number[], floorWallMs: [] as number[], preflightRssKb: [] as number[], floorRssKb: [] as number[] };
  const steps = new Map<string, number[]>();
  for (let run = 0; run < runs; run++) {
    // Alternate, so drift in the machine's load hits both sides alike.
    const preflight = expectSuccess('preflight run (no-op)', await runPreflight(['run'], { env, measureRss: true }));
    const floor = expectSuccess('floor', await runNode(floorPath, [], { env: floorEnv, measureRss: true }));
    assertNoop(readReport(report).steps);
    timed.preflightWallMs.push(preflight.wallMs);
    timed.floorWallMs.push(floor.wallMs);
    record(timed.preflightRssKb, preflight);
    record(timed.floorRssKb, floor);
    for (const step of readReport(report).steps) steps.set(step.step, [...(steps.get(step.step) ?? []), step.durationMs]);
  }
  progress(`no-op: ${runs} runs each done; profiling start-up (${profileRuns} runs each, -r load-hook)`);

  const preflightProfiles: LoadProfile[] = [];
  const floorProfiles: LoadProfile[] = [];
  for (let run = 0; run < profileRuns; run++) {
    preflightProfiles.push(await profiled(cliPath, ['run'], env));
    floorProfiles.push(await profiled(floorPath, [], floorEnv));
  }
  return {
    runs,
    ...timed,
    stepMs: Object.fromEntries([...steps].map(([step, values]) => [step, median(values)])),
    preflightProfile: summarise(preflightProfiles),
    floorProfile: summarise(floorProfiles),
  };
}

function record(list: number[], result: RunResult): void {
  if (result.peakRssKb !== undefined) list.push(result.peakRssKb);
}

function assertNoop(steps: ReadonlyArray<{ step: string; status: string }>): void {
  for (const name of ['migrate', 'fixtures']) {
    const step = steps.find((candidate) => candidate.step === name);
    if (step?.status !== 'unchanged') throw new Error(`no-op run: step ${name} is ${step?.status ?? 'missing'}, not unchanged`);
  }
}

async function profiled(script: string, args: string[], env: Record<string, string>): Promise<LoadProfile> {
  const file = path.join(scratchDir(), `load-profile-${path.basename(script)}-${Date.now()}.json`);
  expectSuccess(`profiled ${path.basename(script)}`, await runNode(script, args, {
    env: { ...env, BENCH_LOAD_PROFILE: file },
    nodeArgs: ['-r', loadHookPath],
  }));
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LoadProfile;
}
