#!/usr/bin/env node
import { loadConfig, type Config } from '../config';
import { createLogger } from '../log/create-logger';
import type { Logger } from '../log/logger';
import { createRedactor } from '../log/redact';
import { exitCodeOf, exitCodes, PreflightError, reasonOf } from '../job/errors';
import { checkReportWritable, reportPath, writeReport } from '../job/report';
import { runJob } from '../job/run-job';
import { status } from '../job/status';
import { preflightVersion } from '../job/version';
import { waitForEtcd, waitForPostgres, waitForRedis } from '../job/wait-for-stores';
import { commandHelp, generalHelp } from './commands';
import { parseArguments } from './parse-args';

/** After a stop request, the job gets this long to roll back and release before the process exits anyway. */
const stopGraceMs = 4500;

async function main(argv: string[], stop: AbortController): Promise<number> {
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
    config = loadConfig({ env: process.env, cwd: process.cwd(), stdoutIsTty: process.stdout.isTTY === true });
  } catch (error) {
    return fail(bootLog, error);
  }
  const machineOutput = args.command === 'status' && args.flags.json === true;
  const log = createLogger({ level: config.logLevel, format: config.logFormat, secrets: config.secrets, stream: machineOutput ? process.stderr : undefined });

  try {
    switch (args.command) {
      case 'run': {
        const report = await reportPath(config);
        await checkReportWritable(report);
        log.info({ event: 'job.started', version: preflightVersion, database: config.postgres.database, host: config.postgres.host });
        const outcome = await runJob(config, log, stop.signal);
        await writeReport(report, outcome.report, createRedactor(config.secrets), log);
        if (outcome.error !== undefined) return fail(log, outcome.error);
        log.info({ event: 'job.finished', status: 'ok', durationMs: outcome.report.durationMs, lockWaitMs: outcome.report.lockWaitMs, steps: Object.fromEntries(outcome.report.steps.map((step) => [step.step, step.status])), report: report ?? undefined });
        return exitCodes.ok;
      }
      case 'wait': {
        const [pg, etcd, redis] = await Promise.all([waitForPostgres(config, log, stop.signal), waitForEtcd(config, log, stop.signal), waitForRedis(config, log, stop.signal)]);
        await Promise.all([pg.end(), etcd?.close(), redis?.quit()]);
        return exitCodes.ok;
      }
      case 'status':
      case 'verify': {
        const result = await status(config, log, stop.signal);
        if (machineOutput) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        log.info({ event: `${args.command}.result`, state: result.state, applied: result.applied.length, pending: result.pending, unknown: result.unknown });
        return result.state === 'up-to-date' ? exitCodes.ok : result.state === 'pending' ? exitCodes.pending : exitCodes.data;
      }
    }
  } catch (error) {
    return fail(log, error);
  }
}

/** Logs the one line that names the culprit, then the details; returns the exit code. */
function fail(log: Logger, error: unknown): number {
  const exitCode = exitCodeOf(error);
  if (error instanceof PreflightError) {
    log.error({ event: 'job.failed', exitCode, message: error.message, details: error.details.length > 0 ? error.details : undefined, cause: error.cause ? reasonOf(error.cause) : undefined });
  } else {
    log.error({ event: 'job.failed', exitCode, message: `internal error (a bug, please report it): ${reasonOf(error)}`, stack: error instanceof Error ? error.stack : undefined });
  }
  return exitCode;
}

const stop = new AbortController();
for (const signalName of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signalName, () => {
    const code = signalName === 'SIGINT' ? exitCodes.sigint : exitCodes.sigterm;
    if (stop.signal.aborted) process.exit(code);
    stop.abort(signalName);
    setTimeout(() => process.exit(code), stopGraceMs).unref();
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
