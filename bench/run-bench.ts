/**
 * `npm run bench`: the targets of issue 15 (DESIGN §9) and the figures behind them, each a median of
 * several runs beside a baseline measured in the same run. Progress goes to stderr; the Markdown
 * results go to stdout and bench/results.md.
 *
 * Flags (after `npm run bench --`): `--quick` runs every scenario with small run counts (for
 * developing the bench; the figures are noisy) and `--only=peers,noop,many,concurrent,fixtures,footprint`
 * a subset; both write bench/results-partial.md instead. `--peers-only` (= `--only=peers`) writes
 * bench/peers-results.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startStack, type Stack } from '../test/support/stack';
import { concurrentBench } from './concurrent';
import { BenchContext } from './context';
import { fixturesBench } from './fixtures';
import { footprintBench } from './footprint';
import { manyMigrationsBench } from './many-migrations';
import { noopBench } from './noop';
import { peersBench } from './peers';
import { cliPath, progress, removeScratch, repoRoot, rssMethod } from './process';
import { markdown, type BenchResults } from './render';

/** Runs per figure: enough for a stable median, within about six minutes for the whole bench on 2 CPUs. */
const fullPlan = {
  noopRuns: 7,
  profileRuns: 3,
  migrations: 500,
  migrationRuns: 3,
  instances: 16,
  concurrentRounds: 3,
  fixtureShape: { groups: 100, keysPerGroup: 100 },
  fixtureFirstRuns: 3,
  fixtureReruns: 5,
  peerMigrations: 200,
  peerFreshRuns: 5,
  peerNoopRuns: 7,
};

/** `--quick`: every scenario once or a few times, the same shapes where a target names them. */
const quickPlan: typeof fullPlan = {
  ...fullPlan,
  noopRuns: 3,
  profileRuns: 1,
  migrations: 100,
  migrationRuns: 1,
  concurrentRounds: 1,
  fixtureShape: { groups: 20, keysPerGroup: 100 },
  fixtureFirstRuns: 1,
  fixtureReruns: 2,
  peerFreshRuns: 1,
  peerNoopRuns: 3,
};

const scenarios = ['peers', 'noop', 'many', 'concurrent', 'fixtures', 'footprint'] as const;
type Scenario = (typeof scenarios)[number];

function parseArguments(argv: readonly string[]): { quick: boolean; only?: Set<Scenario>; peersOnly: boolean } {
  const quick = argv.includes('--quick');
  const peersOnly = argv.includes('--peers-only');
  const onlyArgument = argv.find((argument) => argument.startsWith('--only='));
  let only: Set<Scenario> | undefined = peersOnly ? new Set(['peers']) : undefined;
  if (onlyArgument) {
    const names = onlyArgument.slice('--only='.length).split(',');
    const unknown = names.filter((name) => !(scenarios as readonly string[]).includes(name));
    if (unknown.length > 0)
      throw new Error(`--only: unknown scenario ${unknown.join(', ')} (known: ${scenarios.join(', ')})`);
    only = new Set(names as Scenario[]);
  }
  const known = new Set(['--quick', '--peers-only']);
  const stray = argv.filter((argument) => !known.has(argument) && !argument.startsWith('--only='));
  if (stray.length > 0)
    throw new Error(`unknown argument ${stray.join(' ')} (known: --quick, --only=..., --peers-only)`);
  return { quick, only, peersOnly };
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const plan = options.quick ? quickPlan : fullPlan;
  const wanted = (scenario: Scenario) => !options.only || options.only.has(scenario);
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first (npm run bench does)`);
  const started = performance.now();
  progress(
    `peak RSS via ${rssMethod === 'gnu-time' ? '/usr/bin/time -f %M' : 'VmHWM read at exit (install the apt package `time` for GNU time)'}`,
  );
  const modes = [
    options.quick ? 'quick: small run counts' : '',
    options.only ? `only ${[...options.only].join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const results: BenchResults = {
    failures: [],
    totalMs: 0,
    loadAverage: [os.loadavg()[0]],
    mode: modes || undefined,
  };
  const scenario = async <T>(name: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      progress(`${name} FAILED: ${message}`);
      results.failures.push({ scenario: name, message });
      return undefined;
    }
  };
  if (scenarios.some((name) => name !== 'footprint' && wanted(name))) {
    progress('starting PostgreSQL, etcd and Redis (test/support/stack.ts)');
    const stack: Stack = await startStack();
    progress(`stack up in ${stack.startupMs} ms`);
    const context = await BenchContext.open(stack.info);
    try {
      if (wanted('peers'))
        results.peers = await scenario('peers', () =>
          peersBench(context, plan.peerMigrations, plan.peerFreshRuns, plan.peerNoopRuns),
        );
      if (wanted('noop'))
        results.noop = await scenario('1 no-op run', () => noopBench(context, plan.noopRuns, plan.profileRuns));
      if (wanted('many'))
        results.many = await scenario(`2 ${plan.migrations} migrations`, () =>
          manyMigrationsBench(context, plan.migrations, plan.migrationRuns),
        );
      if (wanted('concurrent'))
        results.concurrent = await scenario(`3 ${plan.instances} at once`, () =>
          concurrentBench(context, plan.instances, plan.concurrentRounds),
        );
      if (wanted('fixtures'))
        results.fixtures = await scenario('4 fixtures', () =>
          fixturesBench(context, plan.fixtureShape, plan.fixtureFirstRuns, plan.fixtureReruns),
        );
    } finally {
      await context.close();
      await stack.stop();
    }
  }
  // Last, with the servers stopped: npm's work does not disturb any timed run.
  if (wanted('footprint')) results.footprint = await scenario('5 footprint', () => footprintBench());
  removeScratch();
  results.totalMs = performance.now() - started;
  results.loadAverage.push(os.loadavg()[0]);

  const text = markdown(results);
  const file = options.peersOnly ? 'peers-results.md' : results.mode ? 'results-partial.md' : 'results.md';
  fs.writeFileSync(path.join(repoRoot, 'bench', file), text);
  process.stdout.write(text);
  progress(`done in ${Math.round(results.totalMs / 1000)} s; written to bench/${file}`);
  if (results.failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  removeScratch();
  process.exit(1);
});
