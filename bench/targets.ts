/**
 * The targets of issue 15 (DESIGN §9), each a ratio against a baseline measured in the same run (or
 * an absolute size), with its verdict and, from preflight's own log and report, where its time goes.
 */
import * as os from 'node:os';
import type { Breakdown } from './peers';
import type { BenchResults } from './render';
import { kibToBytes, limitVerdict, mebibyte, median, mib, ms, ratio, ratioVerdict, spread } from './stats';

export interface TargetRow {
  target: string;
  preflight: string;
  baseline: string;
  ratio: string;
  limit: string;
  verdict: string;
  /** where preflight's time (or size) goes, measured in the same runs */
  why: string;
}

/** The limits, in one place. */
export const limits = {
  pgNoopXFloor: 1.2,
  threeStoreNoopXFloor: 1.1,
  freshXPostgresMigrations: 1.1,
  freshXTypeormCli: 0.8,
  concurrentXAlone: 4,
  baselineXPsql: 1.2,
  installBytes: 40 * mebibyte,
  noopRssBytes: 80 * mebibyte,
};

const msSpread = (values: number[]): string => `${ms(median(values))}${spread(values, ms)}`;

/** `spawn → job.started 190 ms; wait 30, check 12, lock 3, plan 40, migrate 0` (medians). */
export function describeBreakdown(startupMs: readonly number[], stepMs: Record<string, number>): string {
  const steps = Object.entries(stepMs)
    .map(([step, value]) => `${step} ${Math.round(value)}`)
    .join(', ');
  return `spawn → \`job.started\` ${ms(median(startupMs))}; report steps (ms): ${steps || 'none'}`;
}

function medians(breakdown: Breakdown): Record<string, number> {
  return Object.fromEntries(Object.entries(breakdown.stepMs).map(([step, values]) => [step, median(values)]));
}

export function targetRows(results: BenchResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const { peers, noop, many, concurrent, footprint } = results;
  const missing = (target: string, limit: string, why: string): TargetRow => ({
    target,
    preflight: 'not measured',
    baseline: '—',
    ratio: '—',
    limit,
    verdict: 'not measured',
    why,
  });

  const find = (tool: string) => peers?.tools.find((figures) => figures.tool === tool);
  const ours = find('preflight');
  if (peers && ours) {
    const floor = median(peers.floorMs);
    const noopMs = median(ours.noopMs);
    const bestPeer = peers.tools
      .filter((figures) => figures !== ours)
      .reduce<(typeof peers.tools)[number] | undefined>(
        (best, figures) => (!best || median(figures.noopMs) < median(best.noopMs) ? figures : best),
        undefined,
      );
    rows.push({
      target: `no-op, PostgreSQL only, ${peers.count} own migrations (n=${ours.noopMs.length})`,
      preflight: msSpread(ours.noopMs),
      baseline: `node + pg + \`SELECT 1\` ${msSpread(peers.floorMs)}`,
      ratio: ratio(noopMs, floor),
      limit: `≤ ${limits.pgNoopXFloor}× floor`,
      verdict: ratioVerdict(noopMs, floor, limits.pgNoopXFloor),
      why:
        `${describeBreakdown(peers.preflightNoop.startupMs, medians(peers.preflightNoop))}; the floor's whole run ${ms(floor)}` +
        (bestPeer ? `; best peer ${bestPeer.tool} ${ratio(median(bestPeer.noopMs), floor)}` : '') +
        (peers.noopInstructions?.tools.preflight !== undefined
          ? `; user-space instructions (callgrind, load-independent) ${ratio(peers.noopInstructions.tools.preflight, peers.noopInstructions.floor)} the floor's`
          : ''),
    });
  } else
    rows.push(
      missing('no-op, PostgreSQL only, 200 own migrations', `≤ ${limits.pgNoopXFloor}× floor`, 'peers not run'),
    );

  if (noop) {
    const wall = median(noop.preflight.wallMs);
    const floor = median(noop.floor.wallMs);
    rows.push({
      target: `no-op, PostgreSQL + etcd + Redis, platform migrations and fixtures (n=${noop.runs})`,
      preflight: msSpread(noop.preflight.wallMs),
      baseline: `three-store floor ${msSpread(noop.floor.wallMs)}`,
      ratio: ratio(wall, floor),
      limit: `≤ ${limits.threeStoreNoopXFloor}× floor`,
      verdict: ratioVerdict(wall, floor, limits.threeStoreNoopXFloor),
      why: `${describeBreakdown(noop.startupMs, noop.stepMs)}; CPU ${ms(median(noop.preflight.cpuMs))} vs the floor's ${ms(median(noop.floor.cpuMs))}`,
    });
  } else rows.push(missing('no-op, PostgreSQL + etcd + Redis', `≤ ${limits.threeStoreNoopXFloor}× floor`, 'not run'));

  if (peers && ours) {
    const fresh = median(ours.freshMs);
    const migrate = median(peers.preflightFresh.stepMs.migrate ?? []);
    const perMigration = (total: number) => `${(total / peers.count).toFixed(1)} ms`;
    const why = (peerMs: number) =>
      `${describeBreakdown(peers.preflightFresh.startupMs, medians(peers.preflightFresh))}; per migration: preflight's \`migrate\` step ${perMigration(migrate)}, the peer's whole run ${perMigration(peerMs)}`;
    for (const [tool, limit] of [
      ['postgres-migrations', limits.freshXPostgresMigrations],
      ['TypeORM CLI -t each', limits.freshXTypeormCli],
    ] as const) {
      const peer = find(tool);
      const peerMs = peer ? median(peer.freshMs) : Number.NaN;
      rows.push({
        target: `${peers.count} migrations, fresh database (n=${ours.freshMs.length})`,
        preflight: msSpread(ours.freshMs),
        baseline: peer ? `${tool} ${msSpread(peer.freshMs)}` : `${tool}: not measured`,
        ratio: ratio(fresh, peerMs),
        limit: `≤ ${limit}× ${tool}`,
        verdict: ratioVerdict(fresh, peerMs, limit),
        why: why(peerMs),
      });
    }
  } else {
    rows.push(
      missing(
        '200 migrations, fresh database',
        `≤ ${limits.freshXPostgresMigrations}× postgres-migrations`,
        'peers not run',
      ),
    );
    rows.push(
      missing('200 migrations, fresh database', `≤ ${limits.freshXTypeormCli}× TypeORM CLI -t each`, 'peers not run'),
    );
  }

  if (concurrent) {
    const all = median(concurrent.allWallMs);
    const alone = median(concurrent.aloneWallMs);
    const exits = concurrent.instances * concurrent.rounds;
    const once =
      concurrent.nonZeroExits.length === 0 && concurrent.duplicateRows === 0 && concurrent.duplicateApplications === 0;
    const cpus = os.cpus().length;
    const cpuBound = median(concurrent.allCpuMs) / cpus;
    rows.push({
      target: `${concurrent.instances} instances at once, until all exited (rounds=${concurrent.rounds}), exactly once`,
      preflight: `${msSpread(concurrent.allWallMs)}; exits ≠ 0: ${concurrent.nonZeroExits.length} of ${exits}, duplicate rows ${concurrent.duplicateRows}, duplicate applications ${concurrent.duplicateApplications}`,
      baseline: `1 instance alone ${msSpread(concurrent.aloneWallMs)}`,
      ratio: ratio(all, alone),
      limit: `≤ ${limits.concurrentXAlone}× one alone, each migration once`,
      verdict: once
        ? ratioVerdict(all, alone, limits.concurrentXAlone)
        : `**not met**: not exactly once (${ratioVerdict(all, alone, limits.concurrentXAlone)})`,
      why:
        `CPU of all ${concurrent.instances}: ${ms(median(concurrent.allCpuMs))} (${ms(median(concurrent.allCpuMs) / concurrent.instances)} per instance) on ${cpus} CPUs, so at least ${ms(cpuBound)} of wall time (${ratio(cpuBound, alone)} one alone) before any waiting; ` +
        `one alone uses ${ms(median(concurrent.aloneCpuMs))} of CPU; spawn → \`job.started\` ${ms(median(concurrent.allStartupMs))} (median instance) vs ${ms(median(concurrent.aloneStartupMs))} alone; longest lock wait ${ms(median(concurrent.maxLockWaitMs))}`,
    });
  } else
    rows.push(
      missing('16 instances at once', `≤ ${limits.concurrentXAlone}× one alone, each migration once`, 'not run'),
    );

  if (many?.baseline) {
    const { baseline } = many;
    const wall = median(baseline.wallMs);
    const psql = median(baseline.psqlWallMs);
    const migrate = median(baseline.migrateStepMs);
    rows.push({
      target: `baseline path: ${many.count} migrations with \`baseline.sql\` beside them, fresh database (n=${baseline.wallMs.length})`,
      preflight: msSpread(baseline.wallMs),
      baseline: `\`psql -1 -f baseline.sql\` ${msSpread(baseline.psqlWallMs)}`,
      ratio: ratio(wall, psql),
      limit: `≤ ${limits.baselineXPsql}× psql`,
      verdict: ratioVerdict(wall, psql, limits.baselineXPsql),
      why: `\`migrate\` step ${ms(migrate)} (psql's whole run ${ms(psql)}); the rest of the job (start-up, wait, check, lock, plan, exit) ${ms(wall - migrate)}`,
    });
  } else
    rows.push(
      missing(
        'baseline path',
        `≤ ${limits.baselineXPsql}× psql`,
        many ? (many.baselineSkipped ?? 'no snapshot') : 'not run',
      ),
    );

  if (footprint) {
    const { preflight, baseline } = footprint;
    rows.push({
      target: 'production install: `npm install --omit=dev` of the packed tarball, on disk (`du -s`)',
      preflight: `${mib(preflight.total.disk)} (${preflight.packages} package${preflight.packages === 1 ? '' : 's'})`,
      baseline: `typeorm + pg ${mib(baseline.total.disk)}`,
      ratio: ratio(preflight.total.disk, baseline.total.disk),
      limit: `≤ ${mib(limits.installBytes)}`,
      verdict: limitVerdict(preflight.total.disk, limits.installBytes, mib),
      why: `largest files: ${preflight.largestFiles
        .slice(0, 3)
        .map((entry) => `${entry.file} ${mib(entry.size.disk)}`)
        .join(', ')}`,
    });
  } else rows.push(missing('production install', `≤ ${mib(limits.installBytes)}`, 'not run'));

  const rss: Array<{ label: string; kb: number[]; floorKb: number[] }> = [];
  if (noop) rss.push({ label: 'three stores', kb: noop.preflight.rssKb, floorKb: noop.floor.rssKb });
  if (peers && ours) rss.push({ label: 'PostgreSQL only', kb: ours.noopRssKb, floorKb: peers.floorRssKb });
  if (rss.length > 0) {
    const worst = rss.reduce((a, b) => (median(b.kb) > median(a.kb) ? b : a));
    const peak = kibToBytes(median(worst.kb));
    rows.push({
      target: `no-op peak RSS, the larger of ${rss.map((entry) => `${entry.label} (n=${entry.kb.length})`).join(' and ')}`,
      preflight: rss.map((entry) => `${entry.label} ${mib(kibToBytes(median(entry.kb)))}`).join('; '),
      baseline: rss.map((entry) => `floor ${mib(kibToBytes(median(entry.floorKb)))}`).join('; '),
      ratio: ratio(median(worst.kb), median(worst.floorKb)),
      limit: `≤ ${mib(limits.noopRssBytes)}`,
      verdict: limitVerdict(peak, limits.noopRssBytes, mib),
      why: `${worst.label}: ${mib(peak - kibToBytes(median(worst.floorKb)))} above its floor (Node with the same clients)`,
    });
  } else rows.push(missing('no-op peak RSS', `≤ ${mib(limits.noopRssBytes)}`, 'not run'));
  return rows;
}

export function targetsMarkdown(rows: readonly TargetRow[]): string {
  const header = [
    'target',
    'preflight (median)',
    'baseline, same run (median)',
    'ratio',
    'limit',
    'verdict',
    'where preflight spends it',
  ];
  const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${[row.target, row.preflight, row.baseline, row.ratio, row.limit, row.verdict, row.why].map(escape).join(' | ')} |`,
    ),
  ].join('\n');
}

/** `5 of 8 targets met` (not measured ones count as not met). */
export function targetsSummary(rows: readonly TargetRow[]): string {
  const met = rows.filter((row) => row.verdict.startsWith('met')).length;
  const unmeasured = rows.filter((row) => row.verdict === 'not measured').length;
  return `${met} of ${rows.length} targets met${unmeasured > 0 ? `, ${unmeasured} not measured in this run` : ''}.`;
}
