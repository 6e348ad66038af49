/**
 * 6. preflight beside its peers, PostgreSQL only (issue 15): the same generated migrations, a fresh
 * database per fresh run, then no-op runs against the migrated database, interleaved round by round
 * with the node + pg + `SELECT 1` floor so machine load hits every tool alike.
 */
import * as path from 'node:path';
import { BenchContext, readReport } from './context';
import { ensurePeersInstalled, preparePeers, writePgFloor, type PeerCommand } from './peer-tools';
import {
  baseEnv,
  events,
  expectSuccess,
  hasValgrind,
  instructionCount,
  progress,
  runNode,
  scratchDir,
  type RunResult,
} from './process';
import { median, ms, ratio, spread } from './stats';
import { describeBreakdown } from './targets';

export interface PeerFigures {
  tool: string;
  version: string;
  freshMs: number[];
  noopMs: number[];
  noopRssKb: number[];
}

/** Where a preflight run's time went, per run: spawn → `job.started`, and each report step. */
export interface Breakdown {
  startupMs: number[];
  stepMs: Record<string, number[]>;
}

export interface PeersResult {
  count: number;
  floorMs: number[];
  floorRssKb: number[];
  tools: PeerFigures[];
  /** preflight's own runs, from its log and report */
  preflightFresh: Breakdown;
  preflightNoop: Breakdown;
  /** user-space instructions of one no-op run under callgrind, per tool and the floor (with valgrind only) */
  noopInstructions?: { floor: number; tools: Record<string, number> };
}

/** Adds one run's spawn → `job.started` and report steps to a breakdown. */
export function addToBreakdown(breakdown: Breakdown, result: RunResult, reportFile: string): void {
  const started = events(result).find((event) => event.event === 'job.started');
  if (typeof started?.timestamp === 'string')
    breakdown.startupMs.push(Date.parse(started.timestamp) - result.spawnedAtEpochMs);
  for (const step of readReport(reportFile).steps) (breakdown.stepMs[step.step] ??= []).push(step.durationMs);
}

async function tablesCreated(context: BenchContext, url: string): Promise<number> {
  const rows = await context.query<{ count: string }>(
    url,
    `SELECT count(*) AS count FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_%'`,
  );
  return Number(rows[0].count);
}

export async function peersBench(
  context: BenchContext,
  count: number,
  freshRuns: number,
  noopRuns: number,
): Promise<PeersResult> {
  ensurePeersInstalled();
  const dir = path.join(scratchDir(), 'peers');
  const { preflight, peers } = preparePeers(dir, count);
  const floor = writePgFloor(dir);
  const tools: PeerCommand[] = [preflight, ...peers];
  progress(`peers: ${count} migrations for ${tools.map((tool) => tool.tool).join(', ')}; ${freshRuns} fresh runs each`);

  const figures = tools.map((tool) => ({
    tool: tool.tool,
    version: tool.version,
    freshMs: [] as number[],
    noopMs: [] as number[],
    noopRssKb: [] as number[],
  }));
  const migrated = new Map<string, string>();
  const preflightFresh: Breakdown = { startupMs: [], stepMs: {} };
  const preflightNoop: Breakdown = { startupMs: [], stepMs: {} };
  const reportFile = path.join(dir, 'preflight-report.json');
  // No-op runs are measured for peak RSS too; preflight's runs also write a report.
  const run = async (tool: PeerCommand, url: string, phase: 'fresh' | 'noop') => {
    const ours = tool === preflight;
    const measureRss = phase === 'noop';
    const result = await runNode(tool.script, tool.args, {
      env: {
        ...baseEnv(),
        DATABASE_URL: url,
        ...tool.extraEnv,
        ...(ours ? { PREFLIGHT_REPORT_FILE: reportFile } : {}),
      },
      cwd: dir,
      measureRss,
      timeoutMs: 300_000,
    });
    if (ours && result.code === 0)
      addToBreakdown(phase === 'noop' ? preflightNoop : preflightFresh, result, reportFile);
    return result;
  };

  for (let round = 0; round < freshRuns; round++) {
    for (const [index, tool] of tools.entries()) {
      const url = await context.freshDatabase(`peer_${index}`);
      const result = expectSuccess(`${tool.tool} (${count} fresh migrations)`, await run(tool, url, 'fresh'));
      const tables = await tablesCreated(context, url);
      if (tables !== count) throw new Error(`${tool.tool} created ${tables} of ${count} tables`);
      figures[index].freshMs.push(result.wallMs);
      migrated.set(tool.tool, url);
    }
  }
  progress(`peers: ${noopRuns} no-op rounds (every tool, then the floor)`);
  const floorMs: number[] = [];
  const floorRssKb: number[] = [];
  const floorUrl = migrated.get(preflight.tool)!;
  for (let round = 0; round < noopRuns; round++) {
    for (const [index, tool] of tools.entries()) {
      const url = migrated.get(tool.tool)!;
      const result = expectSuccess(`${tool.tool} (no-op)`, await run(tool, url, 'noop'));
      figures[index].noopMs.push(result.wallMs);
      if (result.peakRssKb !== undefined) figures[index].noopRssKb.push(result.peakRssKb);
      if ((await tablesCreated(context, url)) !== count) throw new Error(`${tool.tool}'s no-op changed the tables`);
    }
    const floorRun = expectSuccess(
      'pg floor',
      await runNode(floor, [], { env: { ...baseEnv(), DATABASE_URL: floorUrl }, cwd: dir, measureRss: true }),
    );
    floorMs.push(floorRun.wallMs);
    if (floorRun.peakRssKb !== undefined) floorRssKb.push(floorRun.peakRssKb);
  }
  return {
    count,
    floorMs,
    floorRssKb,
    tools: figures,
    preflightFresh,
    preflightNoop,
    noopInstructions: await noopInstructions(tools, migrated, floor, floorUrl, dir),
  };
}

/** One no-op of preflight, the best peer and the floor under callgrind (the runs above warmed every cache up). */
async function noopInstructions(
  tools: PeerCommand[],
  migrated: Map<string, string>,
  floor: string,
  floorUrl: string,
  dir: string,
): Promise<PeersResult['noopInstructions']> {
  if (!hasValgrind) return undefined;
  progress('peers: one no-op of each tool and the floor under callgrind (instruction counts)');
  const count = (script: string, args: string[], url: string, extraEnv: Record<string, string> = {}) =>
    instructionCount(script, args, { env: { ...baseEnv(), DATABASE_URL: url, ...extraEnv }, cwd: dir });
  const result = { floor: (await count(floor, [], floorUrl))!, tools: {} as Record<string, number> };
  // preflight and the fastest peer: the others take minutes under callgrind and are far behind anyway.
  for (const tool of tools.filter((candidate) => ['preflight', 'postgres-migrations'].includes(candidate.tool))) {
    result.tools[tool.tool] = (await count(tool.script, tool.args, migrated.get(tool.tool)!, tool.extraEnv))!;
  }
  return result;
}

const kib = (value: number): string => (Number.isFinite(value) ? `${(value / 1024).toFixed(1)} MiB` : 'n/a');

/** The side-by-side table, preflight first, then the peers by no-op time. */
export function peersMarkdown(result: PeersResult): string {
  const floor = median(result.floorMs);
  const find = (tool: string) => result.tools.find((figures) => figures.tool === tool);
  const pm = find('postgres-migrations');
  const typeorm = find('TypeORM CLI -t each');
  const ours = find('preflight')!;
  const rows = [...result.tools].sort((a, b) =>
    a.tool === 'preflight' ? -1 : b.tool === 'preflight' ? 1 : median(a.noopMs) - median(b.noopMs),
  );
  const lines = [
    `## Peers, PostgreSQL only (${result.count} migrations, same files, same fresh databases)`,
    '',
    `Floor: node + pg + \`SELECT 1\`, ${ms(floor)}${spread(result.floorMs, ms)}, peak RSS ${kib(median(result.floorRssKb))}. ` +
      `Fresh: n=${ours.freshMs.length} per tool, a new database each; no-op: n=${ours.noopMs.length}, interleaved with the floor.`,
    '',
    '| tool | version | no-op (median) | no-op × floor | no-op instructions × floor | no-op peak RSS | fresh (median) | fresh × postgres-migrations | fresh × TypeORM CLI |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const instructions = result.noopInstructions;
  const instructionRatio = (tool: string) =>
    instructions?.tools[tool] === undefined ? 'n/a' : ratio(instructions.tools[tool], instructions.floor);
  for (const figures of rows) {
    const fresh = median(figures.freshMs);
    lines.push(
      `| ${figures.tool === 'preflight' ? '**preflight**' : figures.tool} | ${figures.version} | ${ms(median(figures.noopMs))}${spread(figures.noopMs, ms)} | ` +
        `${ratio(median(figures.noopMs), floor)} | ${instructionRatio(figures.tool)} | ${kib(median(figures.noopRssKb))} | ${ms(fresh)}${spread(figures.freshMs, ms)} | ` +
        `${pm ? ratio(fresh, median(pm.freshMs)) : 'n/a'} | ${typeorm ? ratio(fresh, median(typeorm.freshMs)) : 'n/a'} |`,
    );
  }
  const medians = (breakdown: Breakdown) =>
    Object.fromEntries(Object.entries(breakdown.stepMs).map(([step, values]) => [step, median(values)]));
  if (instructions) {
    const millions = (count: number) => `${(count / 1e6).toFixed(0)} M`;
    lines.push(
      '',
      `No-op instructions: one run of each under valgrind's callgrind, user-space instructions (deterministic: unlike wall and CPU time they do not move with other load; kernel and server time are not in them): ` +
        `floor ${millions(instructions.floor)}, ${Object.entries(instructions.tools)
          .map(([tool, count]) => `${tool} ${millions(count)}`)
          .join(', ')}.`,
    );
  }
  lines.push(
    '',
    `preflight's own runs, from its log and report: fresh: ${describeBreakdown(result.preflightFresh.startupMs, medians(result.preflightFresh))}; ` +
      `no-op: ${describeBreakdown(result.preflightNoop.startupMs, medians(result.preflightNoop))}.`,
    '',
    'How each tool runs: preflight `run` with `PREFLIGHT_MIGRATIONS` (PostgreSQL only); TypeORM `migration:run -d <DataSource> -t each` on the same compiled files;' +
      ' knex `migrate:latest --knexfile`; node-pg-migrate `up -m <dir>`; postgres-migrations `migrate({ client }, dir)` (it has no CLI that migrates);' +
      ' umzug `up()` with the documented custom storage on pg (it ships none for PostgreSQL, and no transactions). Every fresh run is checked to create all tables; every no-op to change none.',
  );
  return lines.join('\n');
}
