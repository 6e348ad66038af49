import { loadConfigWithoutPostgres, type Config } from '../config';
import type { Environment } from '../config/environment';
import { exitCodes, PreflightError } from '../core/errors';
import { createLogger } from '../log/create-logger';
import type { Logger } from '../log/logger';
import { applyFixtureFiles, planFixtureSync } from '../job/fixtures-sync';
import { status } from '../job/status';

/**
 * `preflight fixtures diff|apply`: etcd only, no PostgreSQL settings needed. diff prints the
 * key-level changes on stdout (logs go to stderr) and exits 3 when an apply would write, 0 when in
 * sync; apply writes them (compare-and-swap, safe to run concurrently) and exits 0.
 */
export async function fixturesCommand(
  action: string | undefined,
  env: Environment,
  signal: AbortSignal,
  fail: (log: Logger, error: unknown) => number,
): Promise<number> {
  if (action !== 'diff' && action !== 'apply') {
    throw new PreflightError(
      'usage',
      `preflight fixtures: expected diff or apply, got ${action ?? 'nothing'} (usage: preflight fixtures diff|apply)`,
    );
  }
  const config = loadConfigWithoutPostgres({
    env,
    cwd: process.cwd(),
    stdoutIsTty: process.stdout.isTTY === true,
  });
  const log = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    secrets: config.secrets,
    stream: action === 'diff' ? process.stderr : undefined,
  });
  try {
    if (action === 'diff') {
      const sync = await planFixtureSync(config, log, signal);
      process.stdout.write(`${sync.lines.join('\n')}\n`);
      const { state, changedFiles, puts, deletes } = sync;
      log.info({ event: 'fixtures.diff', state, changedFiles, puts, deletes });
      return state === 'changes' ? exitCodes.pending : exitCodes.ok;
    }
    const results = await applyFixtureFiles(config, log, signal);
    const applied = results.filter((result) => result.status === 'applied');
    log.info({
      event: 'fixtures.finished',
      files: results.length,
      applied: applied.map(({ file, puts, deletes }) => ({ file, puts, deletes })),
    });
    return exitCodes.ok;
  } catch (error) {
    return fail(log, error);
  }
}

/**
 * `preflight run --dry-run`: the migration plan and the fixture changes, on stdout; writes nothing
 * (no database is created, no lock taken, no report file written). Exit 0 when a run would do
 * nothing, 3 when it would apply something, 65 when it would refuse.
 */
export async function dryRunCommand(config: Config, log: Logger, signal: AbortSignal): Promise<number> {
  const result = await status({ ...config, createDatabase: false }, log, signal);
  const lines = [`migrations: ${result.applied.length} applied, ${result.pending.length} pending`];
  for (const name of result.pending) lines.push(`  pending ${name}`);
  if (result.problem) lines.push(`  refused: ${result.problem}`);
  const sync = config.etcd && config.fixturesDir !== null ? await planFixtureSync(config, log, signal) : undefined;
  const skipped = config.fixturesDir === null ? 'fixtures off (PREFLIGHT_FIXTURES)' : 'ETCD_ENDPOINTS not set';
  lines.push(sync ? 'fixtures:' : `fixtures: skipped (${skipped})`);
  for (const line of sync?.lines ?? []) lines.push(`  ${line}`);
  lines.push('dry run: nothing was written');
  process.stdout.write(`${lines.join('\n')}\n`);
  const state =
    result.state === 'inconsistent'
      ? 'inconsistent'
      : result.state === 'pending' || sync?.state === 'changes'
        ? 'pending'
        : 'up-to-date';
  log.info({ event: 'run.dry_run', state, pending: result.pending, fixtures: sync?.changedFiles });
  return state === 'inconsistent' ? exitCodes.data : state === 'pending' ? exitCodes.pending : exitCodes.ok;
}
