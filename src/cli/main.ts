#!/usr/bin/env node
import { loadConfig, type Config } from '../config';
import { createLogger } from '../log/create-logger';
import type { Logger } from '../log/logger';
import { asPreflightError, exitCodeOf, exitCodes, PreflightError, reasonOf } from '../core/errors';
import { checkReportWritable, reportPath, writeReport } from '../job/report';
import { runJob } from '../job/run-job';
import { withProjectDataSource } from '../job/project-data-source';
import { preflightVersion } from '../core/version';
import type { DownTarget } from '../job/down';
import { waitForEtcd, waitForPostgres, waitForRedis } from '../job/wait-for-stores';
import { resolve } from 'node:path';
import { commandHelp, commands, generalHelp, type CommandSpec } from './commands';
import { parseArguments } from './parse-args';

/** After a stop request, the job gets this long to roll back and release before the process exits anyway. */
const stopGraceMs = 4500;

// Only `run` (the command of every deploy) is loaded up front; every other command is imported when used.
async function main(argv: string[], stop: AbortController): Promise<number> {
  // The one read of the process environment; src/config validates it, nothing else looks at it.
  const env = process.env;
  const bootLog = createLogger({ level: 'info', format: process.stdout.isTTY ? 'pretty' : 'json', secrets: [] });
  let args;
  let config: Config;
  try {
    args = parseArguments(argv);
    if (args.kind === 'help') {
      process.stdout.write(`${args.command ? commandHelp(args.command) : generalHelp()}\n`);
      return exitCodes.ok;
    }
    if (args.kind === 'version') {
      process.stdout.write(`${preflightVersion}\n`);
      return exitCodes.ok;
    }
    if ((commands[args.command] as CommandSpec).needsConfig === false)
      return await offlineCommand(args.command, args.positionals, args.flags);
    if (args.command === 'fixtures')
      return await (await import('./fixtures-command')).fixturesCommand(args.positionals[0], env, stop.signal, fail);
    config = await withProjectDataSource(
      loadConfig({ env, cwd: process.cwd(), stdoutIsTty: process.stdout.isTTY === true }),
    );
  } catch (error) {
    return fail(bootLog, error);
  }
  const machineOutput =
    (args.command === 'status' && args.flags.json === true) ||
    (args.command === 'run' && args.flags['dry-run'] === true);
  const log = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    secrets: config.secrets,
    stream: machineOutput ? process.stderr : undefined,
  });

  try {
    switch (args.command) {
      case 'run': {
        if (args.flags['dry-run'] === true)
          return await (await import('./fixtures-command')).dryRunCommand(config, log, stop.signal);
        const report = await reportPath(config);
        await checkReportWritable(report);
        if (report === null) log.info({ event: 'report.none', message: noReportReason(config) });
        log.info({
          event: 'job.started',
          version: preflightVersion,
          database: config.postgres.database,
          host: config.postgres.host,
        });
        const outcome = await runJob(config, log, stop.signal);
        await writeReport(report, outcome.report, log);
        if (outcome.error !== undefined) return fail(log, outcome.error);
        log.info({
          event: 'job.finished',
          status: 'ok',
          durationMs: outcome.report.durationMs,
          lockWaitMs: outcome.report.lockWaitMs,
          steps: Object.fromEntries(outcome.report.steps.map((step) => [step.step, step.status])),
          report: report ?? undefined,
        });
        return exitCodes.ok;
      }
      case 'wait': {
        const [pg, etcd, redis] = await Promise.all([
          waitForPostgres(config, log, stop.signal),
          waitForEtcd(config, log, stop.signal),
          waitForRedis(config, log, stop.signal),
        ]);
        await Promise.all([pg.end(), etcd?.close(), redis?.quit()]);
        return exitCodes.ok;
      }
      case 'status':
      case 'verify': {
        const { status } = await import('../job/status');
        const result = await status(config, log, stop.signal, { fixtures: args.command === 'status' });
        if (machineOutput) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else if (args.command === 'status')
          process.stdout.write(`${(await import('./status-table')).formatStatus(result)}\n`);
        log.info({
          event: `${args.command}.result`,
          state: result.state,
          applied: result.applied.length,
          pending: result.pending,
          unknown: result.unknown,
          fixtures: result.fixtures,
        });
        if (result.problem) log.warn({ event: `${args.command}.inconsistent`, message: result.problem });
        return result.state === 'up-to-date'
          ? exitCodes.ok
          : result.state === 'pending'
            ? exitCodes.pending
            : exitCodes.data;
      }
      case 'down': {
        const target = downTarget(args.positionals[0], args.flags.to);
        const confirm = (await import('./confirm')).downConfirmation(args.flags.yes === true, config.postgres.database);
        const runs = await (await import('../job/down')).down(config, log, stop.signal, target, undefined, confirm);
        log.info({ event: 'down.finished', reverted: runs.map((run) => run.name) });
        return exitCodes.ok;
      }
      case 'repair':
        return await (
          await import('./repair-command')
        ).repairCommand(config, log, stop.signal, args.positionals, args.flags);
      case 'clear-history':
        return await (
          await import('./clear-history-command')
        ).clearHistoryCommand(config, log, stop.signal, args.flags);
      case 'rehearse':
        return await (await import('./rehearse-command')).rehearseCommand(config, log, stop.signal, args.flags);
      case 'baseline':
        return await (await import('./baseline-command')).baselineCommand(config, log, stop.signal, args.flags);
      default:
        throw new PreflightError('internal', `command ${args.command} has no handler`);
    }
  } catch (error) {
    return fail(log, error);
  }
}

/** `down N` or `down --to NAME`, never both. */
function downTarget(count: string | undefined, to: string | boolean | undefined): DownTarget {
  if (typeof to === 'string') {
    if (count !== undefined) throw new PreflightError('usage', 'preflight down: give either N or --to NAME, not both');
    return { to };
  }
  if (count === undefined) return { count: 1 };
  if (!/^[1-9]\d*$/.test(count))
    throw new PreflightError('usage', `preflight down: N must be a positive whole number (got "${count}")`);
  return { count: Number(count) };
}

/** Commands that touch no store: they need no configuration and print their result. */
async function offlineCommand(
  command: string,
  positionals: string[],
  flags: Record<string, string | boolean | undefined>,
): Promise<number> {
  if (command === 'create') {
    const dir = typeof flags.dir === 'string' ? flags.dir : 'migrations';
    const { createMigration, createNextSteps } = await import('../job/create-migration');
    const file = await createMigration(positionals[0], resolve(process.cwd(), dir));
    process.stdout.write(`${file}\n${createNextSteps(file)}\n`);
    return exitCodes.ok;
  }
  const written = await (await import('../postgres/manifest')).writeManifest(resolve(process.cwd(), positionals[0]));
  process.stdout.write(
    `wrote ${written.length} migrations to ${resolve(process.cwd(), positionals[0], 'preflight-manifest.json')}\n`,
  );
  return exitCodes.ok;
}

/** Why `run` writes no report file, and how to get one. */
function noReportReason(config: Config): string {
  return config.reportFile === null
    ? 'no report file written (PREFLIGHT_REPORT_FILE=none)'
    : 'no report file written: /dev/termination-log is not writable here (not in a Kubernetes pod); set PREFLIGHT_REPORT_FILE=path to write one';
}

/** Logs the one line that names the culprit, then the details; returns the exit code. */
function fail(log: Logger, thrown: unknown): number {
  const error = asPreflightError(thrown); // an informative SQLSTATE is no bug (issue 12)
  const exitCode = exitCodeOf(error);
  if (error instanceof PreflightError) {
    log.error({
      event: 'job.failed',
      exitCode,
      message: error.message,
      details: error.details.length > 0 ? error.details : undefined,
      cause: error.cause ? reasonOf(error.cause) : undefined,
    });
  } else {
    log.error({
      event: 'job.failed',
      exitCode,
      message: `internal error (a bug, please report it): ${reasonOf(error)}`,
      stack: error instanceof Error ? error.stack : undefined,
    });
  }
  return exitCode;
}

const stop = new AbortController();
for (const signalName of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signalName, () => {
    const code = signalName === 'SIGINT' ? exitCodes.sigint : exitCodes.sigterm;
    if (stop.signal.aborted) process.exit(code);
    stop.abort(signalName);
    setTimeout(() => {
      // The safety net: cleanup did not finish in time. Say so, so that it is never mistaken for a clean stop.
      const event = { level: 'error', event: 'job.force_exit', exitCode: code, graceMs: stopGraceMs };
      process.stdout.write(
        `${JSON.stringify({ ...event, message: `cleanup after ${signalName} did not finish within ${stopGraceMs}ms: exiting anyway; PostgreSQL rolls back and releases the lock when it notices the closed connection` })}\n`,
      );
      process.exit(code);
    }, stopGraceMs).unref();
  });
}

main(process.argv.slice(2), stop).then(
  (code) => {
    process.exitCode = code;
    // Stores are closed by now; a driver timer still pending (a gRPC call deadline after a failed
    // wait) must not delay the exit. Writes to stdout pipes and files are synchronous on Linux.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`preflight: internal error: ${reasonOf(error)}\n`);
    process.exit(exitCodes.internal);
  },
);
