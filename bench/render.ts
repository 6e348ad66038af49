/** The results as Markdown: the figures table first, then the start-up profile and footprint details. */
import * as os from 'node:os';
import type { ConcurrentResult } from './concurrent';
import type { FixturesResult } from './fixtures';
import type { FootprintResult } from './footprint';
import type { ManyMigrationsResult } from './many-migrations';
import type { NoopResult } from './noop';
import { rssMethod } from './process';
import { kibToBytes, markdownTable, mb, median, ms, ratio, spread, verdict, type Row } from './stats';

export interface BenchResults {
  noop?: NoopResult;
  many?: ManyMigrationsResult;
  concurrent?: ConcurrentResult;
  fixtures?: FixturesResult;
  footprint?: FootprintResult;
  /** a scenario that threw, with its message */
  failures: Array<{ scenario: string; message: string }>;
  /** whether src/ has a baseline (squashed schema) path to benchmark */
  baselinePathLanded: boolean;
  totalMs: number;
}

const targetMb = { rss: 100e6, install: 60e6 };

export function rows(results: BenchResults): Row[] {
  const table: Row[] = [];
  const { noop, many, concurrent, fixtures, footprint } = results;
  const msSpread = (values: number[]) => `${ms(median(values))}${spread(values, ms)}`;
  const rssOf = (values: number[]) => `${mb(kibToBytes(median(values)))}${spread(values.map(kibToBytes), mb)}`;

  if (noop) {
    const wall = median(noop.preflightWallMs) / median(noop.floorWallMs);
    table.push({
      item: '1', figure: `no-op \`preflight run\` wall time (n=${noop.runs})`, preflight: msSpread(noop.preflightWallMs),
      baseline: `floor ${msSpread(noop.floorWallMs)}`, ratio: ratio(median(noop.preflightWallMs), median(noop.floorWallMs)),
      target: '≤ 1.5× floor', verdict: verdict(wall <= 1.5, `${wall.toFixed(2)}×, ${ms(median(noop.preflightWallMs) - 1.5 * median(noop.floorWallMs))} over`),
    });
    table.push({
      item: '1', figure: `no-op peak RSS (n=${noop.runs})`, preflight: rssOf(noop.preflightRssKb), baseline: `floor ${rssOf(noop.floorRssKb)}`,
      ratio: ratio(median(noop.preflightRssKb), median(noop.floorRssKb)), target: '< 100 MB',
      verdict: verdict(kibToBytes(median(noop.preflightRssKb)) < targetMb.rss),
    });
  }
  if (many) {
    const pf = median(many.preflightWallMs);
    const to = median(many.typeormWallMs);
    table.push({
      item: '2', figure: `${many.count} migrations, fresh database, wall time (n=${many.runs}, transaction each)`, preflight: msSpread(many.preflightWallMs),
      baseline: `typeorm migration:run ${msSpread(many.typeormWallMs)}`, ratio: ratio(pf, to), target: '≤ 1.0× TypeORM CLI',
      verdict: verdict(pf <= to, `${ms(pf - to)} slower`),
    });
    table.push({
      item: '2', figure: `${many.count} migrations: preflight's \`migrate\` step alone (report)`, preflight: msSpread(many.preflightMigrateMs),
      baseline: '—', ratio: '—', target: 'baseline path < 1 s',
      verdict: results.baselinePathLanded ? 'baseline path present but not benchmarked here' : 'n/a: no baseline path in src/ yet',
    });
    table.push({
      item: '2/5', figure: `${many.count} migrations: peak RSS`, preflight: rssOf(many.preflightRssKb), baseline: `typeorm migration:run ${rssOf(many.typeormRssKb)}`,
      ratio: ratio(median(many.preflightRssKb), median(many.typeormRssKb)), target: '< 100 MB',
      verdict: verdict(kibToBytes(median(many.preflightRssKb)) < targetMb.rss, `${mb(kibToBytes(median(many.preflightRssKb)) - targetMb.rss)} over`),
    });
  }
  if (concurrent) {
    const exits = concurrent.instances * concurrent.rounds;
    const ok = concurrent.nonZeroExits.length === 0 && concurrent.duplicateRows === 0 && concurrent.duplicateApplications === 0;
    table.push({
      item: '3', figure: `${concurrent.instances} instances at once, wall time to all exited (rounds=${concurrent.rounds})`, preflight: msSpread(concurrent.allWallMs),
      baseline: `1 instance ${msSpread(concurrent.aloneWallMs)}`, ratio: ratio(median(concurrent.allWallMs), median(concurrent.aloneWallMs)),
      target: 'all exit 0, each migration once', verdict: verdict(ok),
    });
    table.push({
      item: '3', figure: `${concurrent.instances} at once: exits ≠ 0 / duplicate rows / duplicate applications`,
      preflight: `${concurrent.nonZeroExits.length} of ${exits} / ${concurrent.duplicateRows} / ${concurrent.duplicateApplications}`,
      baseline: '—', ratio: '—', target: '0 / 0 / 0',
      verdict: verdict(ok, concurrent.nonZeroExits.length > 0 ? `exit codes ${[...new Set(concurrent.nonZeroExits)].join(', ')}` : ''),
    });
  }
  if (fixtures) {
    const first = median(fixtures.firstWallMs);
    table.push({
      item: '4', figure: `${fixtures.keys} etcd keys, first apply: job wall time (n=${fixtures.firstRuns})`, preflight: msSpread(fixtures.firstWallMs),
      baseline: `etcd3 script ${msSpread(fixtures.baselineWallMs)}`, ratio: ratio(first, median(fixtures.baselineWallMs)), target: '< 2 s',
      verdict: verdict(first < 2000, `${ms(first - 2000)} over`),
    });
    table.push({
      item: '4', figure: `${fixtures.keys} keys, first apply: \`fixtures\` step (\`check\` step: ${ms(median(fixtures.firstCheckStepMs))})`,
      preflight: msSpread(fixtures.firstFixturesStepMs), baseline: `batched puts ${msSpread(fixtures.baselineWriteMs)}`,
      ratio: ratio(median(fixtures.firstFixturesStepMs), median(fixtures.baselineWriteMs)), target: '—', verdict: '—',
    });
    table.push({
      item: '4', figure: `${fixtures.keys} keys, unchanged re-run: job wall time (n=${fixtures.rerunRuns}; \`fixtures\` ${ms(median(fixtures.rerunFixturesStepMs))}, \`check\` ${ms(median(fixtures.rerunCheckStepMs))})`,
      preflight: msSpread(fixtures.rerunWallMs), baseline: noop ? `no-op run (item 1) ${ms(median(noop.preflightWallMs))}` : '—',
      ratio: noop ? ratio(median(fixtures.rerunWallMs), median(noop.preflightWallMs)) : '—', target: 'one read, no write',
      verdict: verdict(fixtures.rerunRevisionMoves === 0, `etcd revision moved ${fixtures.rerunRevisionMoves}`),
    });
  }
  if (footprint) {
    const { preflight, baseline } = footprint;
    table.push({
      item: '5', figure: `production install (\`npm install --omit=dev\` of the packed tarball), apparent size`,
      preflight: `${mb(preflight.bytes)} (${preflight.packages} packages; du ${mb(preflight.diskKb * 1024)})`,
      baseline: `typeorm + pg ${mb(baseline.bytes)} (${baseline.packages} packages; du ${mb(baseline.diskKb * 1024)})`,
      ratio: ratio(preflight.bytes, baseline.bytes), target: '< 60 MB', verdict: verdict(preflight.bytes < targetMb.install, `${mb(preflight.bytes - targetMb.install)} over`),
    });
  }
  return table;
}

export function markdown(results: BenchResults): string {
  const sections = [
    '# preflight benchmarks',
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}) · ${Math.round(os.totalmem() / 1e9)} GB · ` +
      `whole bench ${ms(results.totalMs)}. Medians, [min–max] over the runs; ratios are preflight ÷ baseline from this same run.`,
    '',
    markdownTable(rows(results)),
  ];
  if (results.failures.length > 0) {
    sections.push('', '**Scenarios that failed** (their figures are missing above):', '');
    for (const failure of results.failures) sections.push(`- ${failure.scenario}: ${failure.message.split('\n').slice(0, 8).join(' / ')}`);
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
    `Report steps of the no-op run (median ms): ${Object.entries(noop.stepMs).map(([step, value]) => `${step} ${Math.round(value)}`).join(', ')}.`,
    '',
    'Self time by package or source folder (each module\'s own load time, without what it required):',
    '',
    '| package / folder | self time | modules | first loaded at | first required by | floor self time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...pf.owners.slice(0, 15).map((owner) =>
      `| ${owner.owner} | ${ms(owner.selfMs)} | ${owner.modules} | ${ms(owner.firstLoadMs)} | ${owner.loadedBy} | ${floorSelf.has(owner.owner) ? ms(floorSelf.get(owner.owner)!) : '—'} |`),
    '',
    'Requires from preflight\'s own code into packages, with everything they pull in (what making that import lazy would save when it is not needed):',
    '',
    '| require | inclusive time |',
    '| --- | --- |',
    ...pf.entries.slice(0, 15).map((entry) => `| ${entry.edge} | ${ms(entry.inclusiveMs)} |`),
  ];
  return lines;
}

function footprintSection(footprint: FootprintResult): string[] {
  const baselineNames = new Set(footprint.baseline.bySize.map((entry) => entry.name));
  const extra = footprint.preflight.bySize.filter((entry) => !baselineNames.has(entry.name));
  const extraBytes = extra.reduce((sum, entry) => sum + entry.bytes, 0);
  return [
    '## Production footprint',
    '',
    `Tarball ${footprint.tarball.file}: ${mb(footprint.tarball.bytes)}, ${footprint.tarball.files} files. Installed (apparent size, 10^6-byte MB):`,
    '',
    '| package | size | in typeorm + pg install? |',
    '| --- | --- | --- |',
    ...footprint.preflight.bySize.slice(0, 20).map((entry) => `| ${entry.name} | ${mb(entry.bytes)} | ${baselineNames.has(entry.name) ? 'yes' : 'no'} |`),
    '',
    `Packages preflight adds over typeorm + pg: ${extra.length}, ${mb(extraBytes)} in all; largest: ${extra.slice(0, 8).map((entry) => `${entry.name} ${mb(entry.bytes)}`).join(', ')}.`,
    `Install times: ${ms(footprint.preflight.installMs)} and ${ms(footprint.baseline.installMs)} (npm cache, --prefer-offline).`,
  ];
}

function methodSection(): string[] {
  return [
    '## How each figure is taken',
    '',
    '- Servers: the test harness\'s `startStack()` (real PostgreSQL with fsync off, etcd with authentication, Redis with a password and AOF) on loopback; every preflight child gets only the variables it needs.',
    '- Wall time: from spawn to exit of the child, measured by the bench. Peak RSS: ' + (rssMethod === 'gnu-time'
      ? '`/usr/bin/time -f %M` (the kernel\'s ru_maxrss of the child, KiB, taken after it exited; time adds about 1 ms of fork/exec to both sides).'
      : 'VmHWM from /proc/self/status read in the child\'s `exit` event (GNU time was not installed).'),
    '- 1: the database and etcd namespace are brought to head by one untimed run; preflight and the floor (`dist/bench/floor.js`: pg + etcd3 + ioredis connect in parallel, one read each, exit) then alternate.',
    '- 2: generated CommonJS migrations (CREATE TABLE + CREATE INDEX each), a new database per run; TypeORM\'s CLI runs `migration:run -d <DataSource file> -t each` on the same files. After each run the bench checks every migration is recorded once and its table exists.',
    '- 3: PostgreSQL + etcd + Redis, the platform\'s migrations and fixtures, a new database and namespace per round; the bench counts `migrations` rows per name and the `migration.applied` / `fixtures.file.applied` events of all instances.',
    '- 4: one generated file of 100 × 100 keys, a new namespace per first apply; the baseline is `dist/bench/etcd-baseline.js` (txns of 128 puts, 8 in flight, timed after connecting). The re-run\'s etcd revision is checked to be unchanged.',
    '- 5: `npm pack` then `npm install --omit=dev --ignore-scripts` of the tarball into an empty project; the baseline installs the same typeorm and pg versions the same way. Sizes are apparent bytes of every file under node_modules.',
  ];
}
