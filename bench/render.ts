/**
 * The results as Markdown: issue 15's targets first (targets.ts), then every figure with the earlier
 * targets that still hold (DESIGN §9), the start-up profile, the footprint and the peers.
 */
import * as os from 'node:os';
import type { ConcurrentResult } from './concurrent';
import type { FixturesResult } from './fixtures';
import type { FootprintResult } from './footprint';
import type { ManyMigrationsResult } from './many-migrations';
import type { NoopResult } from './noop';
import { peersMarkdown, type PeersResult } from './peers';
import { rssMethod } from './process';
import {
  kibToBytes,
  limitVerdict,
  markdownTable,
  mebibyte,
  mib,
  median,
  ms,
  ratio,
  ratioVerdict,
  spread,
  verdict,
  type Row,
} from './stats';
import { limits, targetRows, targetsMarkdown, targetsSummary } from './targets';

export interface BenchResults {
  peers?: PeersResult;
  noop?: NoopResult;
  many?: ManyMigrationsResult;
  concurrent?: ConcurrentResult;
  fixtures?: FixturesResult;
  footprint?: FootprintResult;
  /** a scenario that threw, with its message */
  failures: Array<{ scenario: string; message: string }>;
  totalMs: number;
  /** 1-minute load average at the start and at the end: other work on the machine skews wall times */
  loadAverage: number[];
  /** run counts when not the full plan (`--quick`), shown in the title */
  mode?: string;
}

/** DESIGN §9's earlier target that still holds: 500 migrations under 100 MB of peak memory. */
const manyRssBytes = 100 * mebibyte;

export function rows(results: BenchResults): Row[] {
  const table: Row[] = [];
  const { noop, many, concurrent, fixtures, footprint } = results;
  const msSpread = (values: number[]) => `${ms(median(values))}${spread(values, ms)}`;
  const rssOf = (values: number[]) => `${mib(kibToBytes(median(values)))}${spread(values.map(kibToBytes), mib)}`;

  if (noop) {
    const { preflight, floor } = noop;
    table.push({
      item: '1',
      figure: `no-op \`preflight run\` wall time (n=${noop.runs})`,
      preflight: msSpread(preflight.wallMs),
      baseline: `floor ${msSpread(floor.wallMs)}`,
      ratio: ratio(median(preflight.wallMs), median(floor.wallMs)),
      target: `≤ ${limits.threeStoreNoopXFloor}× floor`,
      verdict: ratioVerdict(median(preflight.wallMs), median(floor.wallMs), limits.threeStoreNoopXFloor),
    });
    table.push({
      item: '1',
      figure: 'no-op CPU time, user + system (less sensitive to other load on the machine)',
      preflight: msSpread(preflight.cpuMs),
      baseline: `floor ${msSpread(floor.cpuMs)}`,
      ratio: ratio(median(preflight.cpuMs), median(floor.cpuMs)),
      target: '—',
      verdict: '—',
    });
    table.push({
      item: '1',
      figure: `no-op peak RSS (n=${noop.runs})`,
      preflight: rssOf(preflight.rssKb),
      baseline: `floor ${rssOf(floor.rssKb)}`,
      ratio: ratio(median(preflight.rssKb), median(floor.rssKb)),
      target: `≤ ${mib(limits.noopRssBytes)}`,
      verdict: limitVerdict(kibToBytes(median(preflight.rssKb)), limits.noopRssBytes, mib),
    });
  }
  if (many) {
    const pf = median(many.preflightWallMs);
    const to = median(many.typeormWallMs);
    table.push({
      item: '2',
      figure: `${many.count} migrations, fresh database, wall time (n=${many.runs}, transaction each)`,
      preflight: msSpread(many.preflightWallMs),
      baseline: `typeorm migration:run ${msSpread(many.typeormWallMs)}`,
      ratio: ratio(pf, to),
      target: '≤ 1.0× TypeORM CLI (DESIGN §9, earlier)',
      verdict: ratioVerdict(pf, to, 1),
    });
    table.push({
      item: '2',
      figure: `${many.count} migrations: CPU time, user + system`,
      preflight: msSpread(many.preflightCpuMs),
      baseline: `typeorm migration:run ${msSpread(many.typeormCpuMs)}`,
      ratio: ratio(median(many.preflightCpuMs), median(many.typeormCpuMs)),
      target: '—',
      verdict: '—',
    });
    if (many.baseline) {
      const { baseline } = many;
      const wall = median(baseline.wallMs);
      const psql = median(baseline.psqlWallMs);
      table.push({
        item: '2',
        figure: `${many.count} migrations, baseline path (\`baseline.sql\` beside them): job wall time; \`migrate\` step ${ms(median(baseline.migrateStepMs))}, peak RSS ${mib(kibToBytes(median(baseline.rssKb)))}; replay ${ms(pf)} (\`migrate\` step ${ms(median(many.preflightMigrateMs))}); writing the snapshot took ${ms(baseline.writeMs)}`,
        preflight: msSpread(baseline.wallMs),
        baseline: `\`psql -1 -f baseline.sql\` ${msSpread(baseline.psqlWallMs)}`,
        ratio: ratio(wall, psql),
        target: `≤ ${limits.baselineXPsql}× psql`,
        verdict: ratioVerdict(wall, psql, limits.baselineXPsql),
      });
    } else {
      table.push({
        item: '2',
        figure: `${many.count} migrations, baseline path`,
        preflight: 'not measured',
        baseline: '—',
        ratio: '—',
        target: `≤ ${limits.baselineXPsql}× psql`,
        verdict: `not measured: ${many.baselineSkipped ?? 'no snapshot'}`,
      });
    }
    table.push({
      item: '2/5',
      figure: `${many.count} migrations: peak RSS`,
      preflight: rssOf(many.preflightRssKb),
      baseline: `typeorm migration:run ${rssOf(many.typeormRssKb)}`,
      ratio: ratio(median(many.preflightRssKb), median(many.typeormRssKb)),
      target: `≤ ${mib(manyRssBytes)} (DESIGN §9, earlier)`,
      verdict: limitVerdict(kibToBytes(median(many.preflightRssKb)), manyRssBytes, mib),
    });
  }
  if (concurrent) {
    const exits = concurrent.instances * concurrent.rounds;
    const ok =
      concurrent.nonZeroExits.length === 0 && concurrent.duplicateRows === 0 && concurrent.duplicateApplications === 0;
    table.push({
      item: '3',
      figure: `${concurrent.instances} instances at once, wall time to all exited (rounds=${concurrent.rounds}; fresh databases brought to head by ${[...concurrent.paths].join(' and ')})`,
      preflight: msSpread(concurrent.allWallMs),
      baseline: `1 instance ${msSpread(concurrent.aloneWallMs)}`,
      ratio: ratio(median(concurrent.allWallMs), median(concurrent.aloneWallMs)),
      target: `≤ ${limits.concurrentXAlone}× one alone`,
      verdict: ratioVerdict(median(concurrent.allWallMs), median(concurrent.aloneWallMs), limits.concurrentXAlone),
    });
    table.push({
      item: '3',
      figure: `${concurrent.instances} at once: spawn → \`job.started\` (median instance), longest lock wait ${ms(median(concurrent.maxLockWaitMs))}`,
      preflight: msSpread(concurrent.allStartupMs),
      baseline: `1 instance ${msSpread(concurrent.aloneStartupMs)}`,
      ratio: ratio(median(concurrent.allStartupMs), median(concurrent.aloneStartupMs)),
      target: '—',
      verdict: '—',
    });
    table.push({
      item: '3',
      figure: `${concurrent.instances} at once: CPU time of all instances (${os.cpus().length} CPUs)`,
      preflight: msSpread(concurrent.allCpuMs),
      baseline: `1 instance ${msSpread(concurrent.aloneCpuMs)}`,
      ratio: ratio(median(concurrent.allCpuMs), median(concurrent.aloneCpuMs)),
      target: '—',
      verdict: '—',
    });
    table.push({
      item: '3',
      figure: `${concurrent.instances} at once: exits ≠ 0 / duplicate rows / duplicate applications`,
      preflight: `${concurrent.nonZeroExits.length} of ${exits} / ${concurrent.duplicateRows} / ${concurrent.duplicateApplications}`,
      baseline: '—',
      ratio: '—',
      target: '0 / 0 / 0',
      verdict: verdict(
        ok,
        concurrent.nonZeroExits.length > 0 ? `exit codes ${[...new Set(concurrent.nonZeroExits)].join(', ')}` : '',
      ),
    });
  }
  if (fixtures) {
    const first = median(fixtures.firstWallMs);
    table.push({
      item: '4',
      figure: `${fixtures.keys} etcd keys, first apply: job wall time (n=${fixtures.firstRuns})`,
      preflight: msSpread(fixtures.firstWallMs),
      baseline: `etcd3 script ${msSpread(fixtures.baselineWallMs)}`,
      ratio: ratio(first, median(fixtures.baselineWallMs)),
      target: '< 2 s (DESIGN §9, earlier)',
      verdict: verdict(first < 2000, `${ms(first - 2000)} over`),
    });
    table.push({
      item: '4',
      figure: `${fixtures.keys} keys, first apply: \`fixtures\` step (\`check\` step: ${ms(median(fixtures.firstCheckStepMs))})`,
      preflight: msSpread(fixtures.firstFixturesStepMs),
      baseline: `batched puts ${msSpread(fixtures.baselineWriteMs)}`,
      ratio: ratio(median(fixtures.firstFixturesStepMs), median(fixtures.baselineWriteMs)),
      target: '—',
      verdict: '—',
    });
    table.push({
      item: '4',
      figure: `${fixtures.keys} keys, unchanged re-run: job wall time (n=${fixtures.rerunRuns}; \`fixtures\` ${ms(median(fixtures.rerunFixturesStepMs))}, \`check\` ${ms(median(fixtures.rerunCheckStepMs))})`,
      preflight: msSpread(fixtures.rerunWallMs),
      baseline: noop ? `no-op run (item 1) ${ms(median(noop.preflight.wallMs))}` : '—',
      ratio: noop ? ratio(median(fixtures.rerunWallMs), median(noop.preflight.wallMs)) : '—',
      target: 'one read, no write (DESIGN §9, earlier)',
      verdict: verdict(fixtures.rerunRevisionMoves === 0, `etcd revision moved ${fixtures.rerunRevisionMoves}`),
    });
  }
  if (footprint) {
    const { preflight, baseline } = footprint;
    table.push({
      item: '5',
      figure:
        'production install (`npm install --omit=dev` of the packed tarball), on disk as `du -sh` counts (file contents)',
      preflight: `${mib(preflight.total.disk)} (${mib(preflight.total.apparent)}; ${preflight.packages} package${preflight.packages === 1 ? '' : 's'})`,
      baseline: `typeorm + pg ${mib(baseline.total.disk)} (${mib(baseline.total.apparent)}; ${baseline.packages} packages)`,
      ratio: ratio(preflight.total.disk, baseline.total.disk),
      target: `≤ ${mib(limits.installBytes)}`,
      verdict: limitVerdict(preflight.total.disk, limits.installBytes, mib),
    });
  }
  return table;
}

export function markdown(results: BenchResults): string {
  const targets = targetRows(results);
  const sections = [
    `# preflight benchmarks${results.mode ? ` (${results.mode})` : ''}`,
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}) · ${Math.round(os.totalmem() / 1e9)} GB · ` +
      `whole bench ${ms(results.totalMs)} · load average ${results.loadAverage.map((value) => value.toFixed(1)).join(' → ')} (start → end; other work on the machine inflates wall times). ` +
      'Medians, [min–max] over the runs; ratios are preflight ÷ baseline from this same run.',
    ...(Math.max(...results.loadAverage) > os.cpus().length
      ? [
          '',
          `**Measured on a loaded machine** (load average above the ${os.cpus().length} CPUs): other processes competed for the CPUs, so wall times and their ratios are noisier than on a quiet machine; re-run \`npm run bench\` there before trusting a close verdict.`,
        ]
      : []),
    '',
    '## Targets (issue 15, DESIGN §9)',
    '',
    targetsSummary(targets),
    '',
    targetsMarkdown(targets),
    '',
    '## Every figure',
    '',
    'Items: 1 no-op, 2 many migrations, 3 instances at once, 4 etcd fixtures, 5 footprint; the peers follow below. Targets marked "earlier" are DESIGN §9\'s that still hold.',
    '',
    markdownTable(rows(results)),
  ];
  if (results.failures.length > 0) {
    sections.push('', '**Scenarios that failed** (their figures are missing above):', '');
    for (const failure of results.failures)
      sections.push(`- ${failure.scenario}: ${failure.message.split('\n').slice(0, 8).join(' / ')}`);
  }
  if (results.peers) sections.push('', peersMarkdown(results.peers));
  if (results.noop) sections.push('', ...startupSection(results.noop));
  if (results.footprint) sections.push('', ...footprintSection(results.footprint));
  sections.push('', ...methodSection());
  return `${sections.join('\n')}\n`;
}

function startupSection(noop: NoopResult): string[] {
  const pf = noop.preflightProfile;
  const floor = noop.floorProfile;
  const cpu = noop.preflightCpu;
  const floorCpu = new Map(noop.floorCpu.byOwner.map((owner) => [owner.owner, owner.selfMs]));
  const lines = [
    '## Start-up profile of the three-store no-op run',
    '',
    `Median of ${pf.runs} runs each with \`-r dist/bench/load-hook.js --cpu-prof\` (both add a little to every figure).`,
    '',
    `| | preflight | floor |`,
    `| --- | --- | --- |`,
    `| Node bootstrap, until the first preloaded module runs | ${ms(pf.hookLoadedMs)} | ${ms(floor.hookLoadedMs)} |`,
    `| time inside require (outermost loads: compiling and running every module's top level) | ${ms(pf.requireMs)} | ${ms(floor.requireMs)} |`,
    `| module files loaded | ${pf.modules} | ${floor.modules} |`,
    `| process start → 'exit' event | ${ms(pf.exitMs)} | ${ms(floor.exitMs)} |`,
    '',
    `Module files preflight loaded (self time): ${pf.owners
      .slice(0, 8)
      .map((owner) => `${owner.owner}${owner.modules === 1 ? '' : ` (${owner.modules} files)`} ${ms(owner.selfMs)}`)
      .join(', ')}.`,
    '',
    `Report steps of the no-op run (median ms): ${Object.entries(noop.stepMs)
      .map(([step, value]) => `${step} ${Math.round(value)}`)
      .join(', ')}.`,
    '',
    `Timeline of a profiled no-op run (median ms since process start, from its log timestamps): ${noop.timeline.map(({ event, atMs }) => `${event} ${Math.round(atMs)}`).join(' → ')}.`,
    '',
    `CPU time by package (\`--cpu-prof\` self time, median over the runs; ${cpu.bundleModules > 0 ? `inside the ${cpu.bundleFiles} bundle files that ran, attributed through their ${cpu.bundleModules} \`__commonJS({"node_modules/<pkg>/…"\` module wrappers` : 'no module wrappers found in the bundle: its code shows as one owner'}; profiled ${ms(cpu.profiledMs)} of preflight, ${ms(noop.floorCpu.profiledMs)} of the floor):`,
    '',
    '| package / part | preflight self time | floor self time |',
    '| --- | --- | --- |',
    ...cpu.byOwner
      .slice(0, 16)
      .map(
        (owner) =>
          `| ${owner.owner} | ${ms(owner.selfMs)} | ${floorCpu.has(owner.owner) ? ms(floorCpu.get(owner.owner)!) : '—'} |`,
      ),
  ];
  if (pf.entries.length > 0)
    lines.push(
      '',
      "Requires from preflight's code into packages outside the bundle, with everything they pull in:",
      '',
      '| require | inclusive time |',
      '| --- | --- |',
      ...pf.entries.slice(0, 10).map((entry) => `| ${entry.edge} | ${ms(entry.inclusiveMs)} |`),
    );
  return lines;
}

function footprintSection(footprint: FootprintResult): string[] {
  const { preflight, baseline } = footprint;
  return [
    '## Production footprint',
    '',
    `Tarball ${footprint.tarball.file}: ${mib(footprint.tarball.bytes)}, ${footprint.tarball.files} files. ` +
      `Installed with \`--omit=dev\`: ${preflight.packages} package${preflight.packages === 1 ? '' : 's'}, ${mib(preflight.total.disk)} on disk, ${mib(preflight.total.apparent)} of file contents ` +
      `(typeorm + pg alone: ${baseline.packages} packages, ${mib(baseline.total.disk)}).`,
    '',
    '| largest installed files | on disk | contents |',
    '| --- | --- | --- |',
    ...preflight.largestFiles.map(
      (entry) => `| ${entry.file} | ${mib(entry.size.disk)} | ${mib(entry.size.apparent)} |`,
    ),
    '',
    `Packages: ${preflight.bySize
      .slice(0, 10)
      .map((entry) => `${entry.name} ${mib(entry.size.disk)}`)
      .join(', ')}.`,
    '',
    `By kind of file, on disk (preflight install / typeorm + pg): ${Object.entries(preflight.byKind)
      .map(
        ([kind, size]) =>
          `${kind} ${mib(size.disk)} / ${mib(baseline.byKind[kind as keyof typeof baseline.byKind].disk)}`,
      )
      .join(', ')}.`,
    '',
    `Install times: ${ms(preflight.installMs)} and ${ms(baseline.installMs)} (npm cache, --prefer-offline).`,
  ];
}

function methodSection(): string[] {
  return [
    '## How each figure is taken',
    '',
    "- Servers: the test harness's `startStack()` (real PostgreSQL with fsync off, etcd with authentication, Redis with a password and AOF) on loopback; every preflight child gets only the variables it needs.",
    '- Wall time: from spawn to exit of the child, measured by the bench. Peak RSS: ' +
      (rssMethod === 'gnu-time'
        ? "`/usr/bin/time -f %M` (the kernel's ru_maxrss of the child, KiB, taken after it exited; time adds about 1 ms of fork/exec to both sides)."
        : "VmHWM from /proc/self/status read in the child's `exit` event (GNU time was not installed)."),
    "- Where preflight spends it: spawn → its `job.started` log line (Node start-up and loading the CLI), then the report's steps (`PREFLIGHT_REPORT_FILE`), medians over the same runs.",
    '- 1: the database and etcd namespace are brought to head by one untimed run; preflight and the floor (`dist/bench/floor.js`: pg + etcd3 + ioredis connect in parallel, one read each, exit) then alternate.',
    "- 2: generated CommonJS migrations (CREATE TABLE + CREATE INDEX each), a new database per run; TypeORM's CLI runs `migration:run -d <DataSource file> -t each` on the same files. The baseline path runs the same files with a `baseline.sql` beside them, written once by `preflight baseline` (untimed), and PostgreSQL's own floor is `psql -X -q -v ON_ERROR_STOP=1 -1 -f baseline.sql` (the psql beside the server binaries) into another fresh database in the same round. After each run the bench checks every migration is recorded once and its table exists (psql: every table).",
    "- 3: PostgreSQL + etcd + Redis, the platform's migrations and fixtures, a new database and namespace per round, one instance alone then all at once; the bench counts `migrations` rows per name and the `migration.applied` / `fixtures.file.applied` events of all instances.",
    "- 4: one generated file of 100 × 100 keys, a new namespace per first apply; the baseline is `dist/bench/etcd-baseline.js` (txns of 128 puts, 8 in flight, timed after connecting). The re-run's etcd revision is checked to be unchanged.",
    '- 5: `npm pack` then `npm install --omit=dev --ignore-scripts` of the tarball into an empty project; the baseline installs the same typeorm and pg versions the same way. Sizes: allocated blocks of every file and directory under node_modules (what `du -s` counts), and file contents beside them. All MB targets are read as MiB.',
    "- Peers: see their section; preflight's no-op there is `run` with `PREFLIGHT_MIGRATIONS` pointing at the 200 generated files (no manifest), against a database it migrated itself.",
  ];
}
