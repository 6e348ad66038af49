/** The results as Markdown: the figures table first, then the start-up profile and footprint details. */
import * as os from 'node:os';
import type { ConcurrentResult } from './concurrent';
import type { FixturesResult } from './fixtures';
import type { FootprintResult } from './footprint';
import type { ManyMigrationsResult } from './many-migrations';
import type { NoopResult } from './noop';
import { rssMethod } from './process';
import { kibToBytes, markdownTable, mebibyte, mib, median, ms, ratio, spread, verdict, type Row } from './stats';

export interface BenchResults {
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
}

const targetBytes = { rss: 100 * mebibyte, install: 60 * mebibyte };

export function rows(results: BenchResults): Row[] {
  const table: Row[] = [];
  const { noop, many, concurrent, fixtures, footprint } = results;
  const msSpread = (values: number[]) => `${ms(median(values))}${spread(values, ms)}`;
  const rssOf = (values: number[]) => `${mib(kibToBytes(median(values)))}${spread(values.map(kibToBytes), mib)}`;

  if (noop) {
    const { preflight, floor } = noop;
    const wall = median(preflight.wallMs) / median(floor.wallMs);
    table.push({
      item: '1',
      figure: `no-op \`preflight run\` wall time (n=${noop.runs})`,
      preflight: msSpread(preflight.wallMs),
      baseline: `floor ${msSpread(floor.wallMs)}`,
      ratio: ratio(median(preflight.wallMs), median(floor.wallMs)),
      target: '≤ 1.5× floor',
      verdict: verdict(
        wall <= 1.5,
        `${wall.toFixed(2)}×, ${ms(median(preflight.wallMs) - 1.5 * median(floor.wallMs))} over`,
      ),
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
      target: '< 100 MiB',
      verdict: verdict(kibToBytes(median(preflight.rssKb)) < targetBytes.rss),
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
      target: '≤ 1.0× TypeORM CLI',
      verdict: verdict(pf <= to, `${ms(pf - to)} slower`),
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
      table.push({
        item: '2',
        figure: `${many.count} migrations, baseline path (\`baseline.sql\` beside them): job wall time; \`migrate\` step ${ms(median(baseline.migrateStepMs))}, peak RSS ${mib(kibToBytes(median(baseline.rssKb)))}; writing the snapshot took ${ms(baseline.writeMs)}`,
        preflight: msSpread(baseline.wallMs),
        baseline: `replay ${ms(pf)} (\`migrate\` step ${ms(median(many.preflightMigrateMs))})`,
        ratio: ratio(wall, pf),
        target: '< 1 s',
        verdict: verdict(wall < 1000, `${ms(wall - 1000)} over`),
      });
    } else {
      table.push({
        item: '2',
        figure: `${many.count} migrations, baseline path`,
        preflight: 'not measured',
        baseline: '—',
        ratio: '—',
        target: '< 1 s',
        verdict: `n/a: ${many.baselineSkipped ?? 'no snapshot'}`,
      });
    }
    table.push({
      item: '2/5',
      figure: `${many.count} migrations: peak RSS`,
      preflight: rssOf(many.preflightRssKb),
      baseline: `typeorm migration:run ${rssOf(many.typeormRssKb)}`,
      ratio: ratio(median(many.preflightRssKb), median(many.typeormRssKb)),
      target: '< 100 MiB',
      verdict: verdict(
        kibToBytes(median(many.preflightRssKb)) < targetBytes.rss,
        `${mib(kibToBytes(median(many.preflightRssKb)) - targetBytes.rss)} over`,
      ),
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
      target: 'all exit 0, each migration once',
      verdict: verdict(ok),
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
      target: '< 2 s',
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
      target: 'one read, no write',
      verdict: verdict(fixtures.rerunRevisionMoves === 0, `etcd revision moved ${fixtures.rerunRevisionMoves}`),
    });
  }
  if (footprint) {
    const { preflight, baseline } = footprint;
    table.push({
      item: '5',
      figure:
        'production install (`npm install --omit=dev` of the packed tarball), on disk as `du -sh` counts (file contents)',
      preflight: `${mib(preflight.total.disk)} (${mib(preflight.total.apparent)}; ${preflight.packages} packages)`,
      baseline: `typeorm + pg ${mib(baseline.total.disk)} (${mib(baseline.total.apparent)}; ${baseline.packages} packages)`,
      ratio: ratio(preflight.total.disk, baseline.total.disk),
      target: '< 60 MiB',
      verdict: verdict(
        preflight.total.disk < targetBytes.install,
        `${mib(preflight.total.disk - targetBytes.install)} over`,
      ),
    });
  }
  return table;
}

export function markdown(results: BenchResults): string {
  const sections = [
    '# preflight benchmarks',
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}) · ${Math.round(os.totalmem() / 1e9)} GB · ` +
      `whole bench ${ms(results.totalMs)} · load average ${results.loadAverage.map((value) => value.toFixed(1)).join(' → ')} (start → end). ` +
      'Medians, [min–max] over the runs; ratios are preflight ÷ baseline from this same run.',
    '',
    markdownTable(rows(results)),
  ];
  if (results.failures.length > 0) {
    sections.push('', '**Scenarios that failed** (their figures are missing above):', '');
    for (const failure of results.failures)
      sections.push(`- ${failure.scenario}: ${failure.message.split('\n').slice(0, 8).join(' / ')}`);
  }
  if (results.noop) sections.push('', ...startupSection(results.noop));
  if (results.footprint) sections.push('', ...footprintSection(results.footprint));
  sections.push('', ...methodSection());
  return `${sections.join('\n')}\n`;
}

function startupSection(noop: NoopResult): string[] {
  const pf = noop.preflightProfile;
  const floor = noop.floorProfile;
  const floorSelf = new Map(floor.owners.map((owner) => [owner.owner, owner.selfMs]));
  const lines = [
    '## Start-up profile of the no-op run',
    '',
    `Median of ${pf.runs} runs with \`-r dist/bench/load-hook.js\` (module loads timed by wrapping Module.prototype.load; the hook adds a little to every figure).`,
    '',
    `| | preflight | floor |`,
    `| --- | --- | --- |`,
    `| Node bootstrap, until the first preloaded module runs | ${ms(pf.hookLoadedMs)} | ${ms(floor.hookLoadedMs)} |`,
    `| time inside require (outermost loads, all modules) | ${ms(pf.requireMs)} | ${ms(floor.requireMs)} |`,
    `| modules loaded | ${pf.modules} | ${floor.modules} |`,
    `| process start → 'exit' event | ${ms(pf.exitMs)} | ${ms(floor.exitMs)} |`,
    '',
    `Report steps of the no-op run (median ms): ${Object.entries(noop.stepMs)
      .map(([step, value]) => `${step} ${Math.round(value)}`)
      .join(', ')}.`,
    '',
    `Timeline of a profiled no-op run (median ms since process start, from its log timestamps): ${noop.timeline.map(({ event, atMs }) => `${event} ${Math.round(atMs)}`).join(' → ')}.`,
    '',
    "Self time by package or source folder (each module's own load time, without what it required):",
    '',
    '| package / folder | self time | modules | first loaded at | first required by | floor self time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...pf.owners
      .slice(0, 15)
      .map(
        (owner) =>
          `| ${owner.owner} | ${ms(owner.selfMs)} | ${owner.modules} | ${ms(owner.firstLoadMs)} | ${owner.loadedBy} | ${floorSelf.has(owner.owner) ? ms(floorSelf.get(owner.owner)!) : '—'} |`,
      ),
    '',
    "Requires from preflight's own code into packages, with everything they pull in (what making that import lazy would save when it is not needed):",
    '',
    '| require | inclusive time |',
    '| --- | --- |',
    ...pf.entries.slice(0, 15).map((entry) => `| ${entry.edge} | ${ms(entry.inclusiveMs)} |`),
  ];
  return lines;
}

function footprintSection(footprint: FootprintResult): string[] {
  const { preflight, baseline } = footprint;
  const baselineNames = new Set(baseline.bySize.map((entry) => entry.name));
  const extra = preflight.bySize.filter((entry) => !baselineNames.has(entry.name));
  const extraDisk = extra.reduce((sum, entry) => sum + entry.size.disk, 0);
  return [
    '## Production footprint',
    '',
    `Tarball ${footprint.tarball.file}: ${mib(footprint.tarball.bytes)}, ${footprint.tarball.files} files. ` +
      `Installed: ${mib(preflight.total.disk)} on disk, ${mib(preflight.total.apparent)} of file contents (many small files each take a whole 4 KiB block).`,
    '',
    '| package | on disk | contents | in the typeorm + pg install? |',
    '| --- | --- | --- | --- |',
    ...preflight.bySize
      .slice(0, 20)
      .map(
        (entry) =>
          `| ${entry.name} | ${mib(entry.size.disk)} | ${mib(entry.size.apparent)} | ${baselineNames.has(entry.name) ? 'yes' : 'no'} |`,
      ),
    '',
    `Packages preflight adds over typeorm + pg: ${extra.length}, ${mib(extraDisk)} on disk; largest: ${extra
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
    '- 1: the database and etcd namespace are brought to head by one untimed run; preflight and the floor (`dist/bench/floor.js`: pg + etcd3 + ioredis connect in parallel, one read each, exit) then alternate.',
    "- 2: generated CommonJS migrations (CREATE TABLE + CREATE INDEX each), a new database per run; TypeORM's CLI runs `migration:run -d <DataSource file> -t each` on the same files. The baseline path runs the same files with a `baseline.sql` beside them, written once by `preflight baseline` (untimed in the figures except as noted). After each run the bench checks every migration is recorded once and its table exists.",
    "- 3: PostgreSQL + etcd + Redis, the platform's migrations and fixtures, a new database and namespace per round; the bench counts `migrations` rows per name and the `migration.applied` / `fixtures.file.applied` events of all instances.",
    "- 4: one generated file of 100 × 100 keys, a new namespace per first apply; the baseline is `dist/bench/etcd-baseline.js` (txns of 128 puts, 8 in flight, timed after connecting). The re-run's etcd revision is checked to be unchanged.",
    "- 5: `npm pack` then `npm install --omit=dev --ignore-scripts` of the tarball into an empty project; the baseline installs the same typeorm and pg versions the same way. Sizes: allocated blocks of every file and directory under node_modules (what `du -s` counts, the unit of DESIGN §9's 35 MB reference), and file contents beside them. All MB targets are read as MiB.",
  ];
}
