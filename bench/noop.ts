/** 1. No-op run (everything up to date) against the floor script, plus a start-up profile. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summariseCpuProfiles, type CpuSummary } from './cpu-profile';
import type { LoadProfile } from './load-hook';
import { BenchContext, readReport } from './context';
import {
  baseEnv,
  cliPath,
  events,
  expectSuccess,
  loadHookPath,
  progress,
  runNode,
  runPreflight,
  scratchDir,
  type RunResult,
} from './process';
import { summarise, type StartupSummary } from './startup-profile';
import { median } from './stats';

const floorPath = path.join(__dirname, 'floor.js');

interface Sample {
  wallMs: number[];
  rssKb: number[];
  cpuMs: number[];
}

export interface NoopResult {
  runs: number;
  preflight: Sample;
  floor: Sample;
  /** median durationMs of each step of preflight's report */
  stepMs: Record<string, number>;
  /** per measured run: spawn → preflight's `job.started` log line (Node start-up and loading the CLI) */
  startupMs: number[];
  /** median ms from process start to each of preflight's log events (first of each name), then to 'exit' */
  timeline: Array<{ event: string; atMs: number }>;
  preflightProfile: StartupSummary;
  floorProfile: StartupSummary;
  /** the same profiled runs' `--cpu-prof`, by package */
  preflightCpu: CpuSummary;
  floorCpu: CpuSummary;
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

  const preflight: Sample = { wallMs: [], rssKb: [], cpuMs: [] };
  const floor: Sample = { wallMs: [], rssKb: [], cpuMs: [] };
  const steps = new Map<string, number[]>();
  const startupMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate, so drift in the machine's load hits both sides alike.
    const ours = expectSuccess('preflight run (no-op)', await runPreflight(['run'], { env, measureRss: true }));
    record(preflight, ours);
    const started = events(ours).find((event) => event.event === 'job.started');
    if (typeof started?.timestamp === 'string') startupMs.push(Date.parse(started.timestamp) - ours.spawnedAtEpochMs);
    record(floor, expectSuccess('floor', await runNode(floorPath, [], { env: floorEnv, measureRss: true })));
    const reported = readReport(report).steps;
    assertNoop(reported);
    for (const step of reported) steps.set(step.step, [...(steps.get(step.step) ?? []), step.durationMs]);
  }
  progress(`no-op: ${runs} runs each done; profiling start-up (${profileRuns} runs each, -r load-hook)`);

  const preflightProfiles: Array<{ profile: LoadProfile; result: RunResult; cpuProfile: string }> = [];
  const floorProfiles: Array<{ profile: LoadProfile; cpuProfile: string }> = [];
  for (let run = 0; run < profileRuns; run++) {
    preflightProfiles.push(await profiled(cliPath, ['run'], env));
    floorProfiles.push(await profiled(floorPath, [], floorEnv));
  }
  return {
    runs,
    preflight,
    floor,
    stepMs: Object.fromEntries([...steps].map(([step, values]) => [step, median(values)])),
    startupMs,
    timeline: timeline(preflightProfiles),
    preflightProfile: summarise(preflightProfiles.map(({ profile }) => profile)),
    floorProfile: summarise(floorProfiles.map(({ profile }) => profile)),
    preflightCpu: summariseCpuProfiles(
      preflightProfiles.map(({ cpuProfile }) => cpuProfile),
      path.dirname(path.dirname(cliPath)),
    ),
    floorCpu: summariseCpuProfiles(floorProfiles.map(({ cpuProfile }) => cpuProfile)),
  };
}

function record(sample: Sample, result: RunResult): void {
  sample.wallMs.push(result.wallMs);
  if (result.peakRssKb !== undefined) sample.rssKb.push(result.peakRssKb);
  if (result.cpuMs !== undefined) sample.cpuMs.push(result.cpuMs);
}

function assertNoop(steps: ReadonlyArray<{ step: string; status: string }>): void {
  for (const name of ['migrate', 'fixtures']) {
    const step = steps.find((candidate) => candidate.step === name);
    if (step?.status !== 'unchanged')
      throw new Error(`no-op run: step ${name} is ${step?.status ?? 'missing'}, not unchanged`);
  }
}

async function profiled(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ profile: LoadProfile; result: RunResult; cpuProfile: string }> {
  const name = `${path.basename(script)}-${Date.now()}`;
  const file = path.join(scratchDir(), `load-profile-${name}.json`);
  const cpuProfile = path.join(scratchDir(), `cpu-${name}.cpuprofile`);
  const result = expectSuccess(
    `profiled ${path.basename(script)}`,
    await runNode(script, args, {
      env: { ...env, BENCH_LOAD_PROFILE: file },
      nodeArgs: [
        '-r',
        loadHookPath,
        '--cpu-prof',
        `--cpu-prof-dir=${path.dirname(cpuProfile)}`,
        `--cpu-prof-name=${path.basename(cpuProfile)}`,
      ],
    }),
  );
  return { profile: JSON.parse(fs.readFileSync(file, 'utf8')) as LoadProfile, result, cpuProfile };
}

/** Where the time of a no-op run goes, from its own log timestamps (ms resolution). */
function timeline(
  runs: ReadonlyArray<{ profile: LoadProfile; result: RunResult }>,
): Array<{ event: string; atMs: number }> {
  const offsets = new Map<string, number[]>();
  for (const { profile, result } of runs) {
    const seen = new Set<string>();
    for (const event of events(result)) {
      const name = `${String(event.event)}${typeof event.store === 'string' ? `:${event.store}` : ''}`;
      if (seen.has(name) || typeof event.timestamp !== 'string') continue;
      seen.add(name);
      offsets.set(name, [...(offsets.get(name) ?? []), Date.parse(event.timestamp) - profile.timeOriginEpochMs]);
    }
    offsets.set("'exit' event", [...(offsets.get("'exit' event") ?? []), profile.exitMs]);
  }
  return [...offsets].map(([event, values]) => ({ event, atMs: median(values) })).sort((a, b) => a.atMs - b.atMs);
}
