/**
 * `npm run bench`: the figures of DESIGN §9 / issue 6, each a median of several runs beside a
 * baseline measured in the same run. Progress goes to stderr; the Markdown results go to stdout
 * and bench/results.md.
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
import { peersBench, peersMarkdown, type PeersResult } from './peers';
import { cliPath, progress, removeScratch, repoRoot, rssMethod } from './process';
import { markdown, type BenchResults } from './render';

/** Runs per figure: enough for a stable median, within the five-minute budget of the whole bench. */
const plan = {
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
  peerFreshRuns: 3,
  peerNoopRuns: 7,
};

/** `npm run bench -- --peers-only`: only item 6 (the peers), written to bench/peers-results.md. */
const peersOnly = process.argv.includes('--peers-only');

async function main(): Promise<void> {
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first (npm run bench does)`);
  const started = performance.now();
  progress(
    `peak RSS via ${rssMethod === 'gnu-time' ? '/usr/bin/time -f %M' : 'VmHWM read at exit (install the apt package `time` for GNU time)'}`,
  );
  progress('starting PostgreSQL, etcd and Redis (test/support/stack.ts)');
  const stack: Stack = await startStack();
  progress(`stack up in ${stack.startupMs} ms`);
  const results: BenchResults = { failures: [], totalMs: 0, loadAverage: [os.loadavg()[0]] };
  const context = await BenchContext.open(stack.info);
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
  let peers: PeersResult | undefined;
  try {
    peers = await scenario('6 peers', () =>
      peersBench(context, plan.peerMigrations, plan.peerFreshRuns, plan.peerNoopRuns),
    );
    if (peersOnly) return finishPeersOnly(peers, started);
    results.noop = await scenario('1 no-op run', () => noopBench(context, plan.noopRuns, plan.profileRuns));
    results.many = await scenario(`2 ${plan.migrations} migrations`, () =>
      manyMigrationsBench(context, plan.migrations, plan.migrationRuns),
    );
    results.concurrent = await scenario(`3 ${plan.instances} at once`, () =>
      concurrentBench(context, plan.instances, plan.concurrentRounds),
    );
    results.fixtures = await scenario('4 fixtures', () =>
      fixturesBench(context, plan.fixtureShape, plan.fixtureFirstRuns, plan.fixtureReruns),
    );
  } finally {
    await context.close();
    await stack.stop();
  }
  // Last, with the servers stopped: npm's work does not disturb any timed run.
  results.footprint = await scenario('5 footprint', () => footprintBench());
  removeScratch();
  results.totalMs = performance.now() - started;
  results.loadAverage.push(os.loadavg()[0]);

  const text = `${markdown(results)}${peers ? `\n${peersMarkdown(peers)}\n` : ''}`;
  fs.writeFileSync(path.join(repoRoot, 'bench/results.md'), text);
  process.stdout.write(text);
  progress(`done in ${Math.round(results.totalMs / 1000)} s; written to bench/results.md`);
  if (results.failures.length > 0) process.exitCode = 1;
}

function finishPeersOnly(peers: PeersResult | undefined, started: number): void {
  if (!peers) {
    process.exitCode = 1;
    return;
  }
  const text = `# preflight and its peers (\`npm run bench -- --peers-only\`)\n\n${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} CPU · load average ${os.loadavg()[0].toFixed(1)} at the end · ${Math.round((performance.now() - started) / 1000)} s\n\n${peersMarkdown(peers)}\n`;
  fs.writeFileSync(path.join(repoRoot, 'bench/peers-results.md'), text);
  removeScratch();
  process.stdout.write(text);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  removeScratch();
  process.exit(1);
});
