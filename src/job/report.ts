import { access, constants, writeFile } from 'node:fs/promises';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { hostname } from 'node:os';
import type { JobEvents, StepName, StepStatus } from '../core/events';
import { exitCodeOf, PreflightError, reasonOf } from '../core/errors';
import { preflightVersion } from '../core/version';
import { redactValue } from '../log/redact';

/** One step of the pipeline, as the report shows it. */
export interface StepRecord {
  step: StepName;
  status: StepStatus;
  durationMs: number;
  details?: Record<string, unknown>;
}

export interface JobReport {
  status: 'ok' | 'failed';
  exitCode: number;
  preflightVersion: string;
  host: string;
  database: string;
  startedAt: string;
  durationMs: number;
  lockWaitMs: number | null;
  steps: StepRecord[];
  error?: string;
}

/**
 * Builds the job's report from its events; `finish` seals it with the outcome. Subscribes at once,
 * so create it before the first step runs.
 */
export function collectReport(config: Config, events: JobEvents): { finish(failure: unknown): JobReport } {
  const startedAt = new Date();
  const started = performance.now();
  const steps: StepRecord[] = [];
  let lockWaitMs: number | null = null;
  const unsubscribe = events.on((event) => {
    if (event.type === 'step.finished') {
      const { step, status, durationMs, details } = event;
      steps.push({ step, status, durationMs, details });
    }
    if (event.type === 'lock.acquired') lockWaitMs = event.waitedMs;
    if (event.type === 'lock.upgraded') {
      // What ran under the shared lock runs again: the report keeps the second, exclusive pass.
      const lock = steps.map((record) => record.step).lastIndexOf('lock');
      steps.splice(lock + 1);
      if (lock >= 0) steps[lock].details = { waitedMs: event.waitedMs, upgradedFrom: 'shared', reason: event.reason };
      lockWaitMs = event.waitedMs;
    }
  });
  return {
    finish(failure) {
      unsubscribe();
      const failed = failure !== undefined;
      return {
        status: failed ? 'failed' : 'ok',
        exitCode: failed ? exitCodeOf(failure) : 0,
        preflightVersion,
        host: hostname(),
        database: config.postgres.database,
        startedAt: startedAt.toISOString(),
        durationMs: Math.round(performance.now() - started),
        lockWaitMs,
        steps,
        error: !failed
          ? undefined
          : failure instanceof PreflightError
            ? failure.message
            : `internal error: ${reasonOf(failure)}`,
      };
    },
  };
}

/** Kubernetes reads at most 4096 bytes of the termination message. */
const maxReportBytes = 4096;
const terminationLog = '/dev/termination-log';

/** The report file to use: the configured one, else /dev/termination-log when writable, else none. */
export async function reportPath(config: Config): Promise<string | null> {
  if (config.reportFile !== undefined) return config.reportFile;
  try {
    await access(terminationLog, constants.W_OK);
    return terminationLog;
  } catch {
    return null;
  }
}

/**
 * Writes a `running` report at start: a job killed later leaves that behind (so a pod's termination
 * message says it never finished), and a file that cannot be written (missing directory, read-only,
 * a full disk) fails the job early with exit 78, before any store is touched.
 */
export async function checkReportWritable(path: string | null): Promise<void> {
  if (path === null) return;
  try {
    await writeFile(path, `${JSON.stringify({ status: 'running', startedAt: new Date().toISOString() })}\n`);
  } catch (error) {
    throw new PreflightError(
      'config',
      `PREFLIGHT_REPORT_FILE: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? reasonOf(error)})`,
    );
  }
}

/** The report as JSON under 4 KB: when too long, step details are dropped, longest first. */
export function serializeReport(report: JobReport): string {
  let text = JSON.stringify(report);
  const steps = report.steps.map((step) => ({ ...step }));
  while (Buffer.byteLength(text) > maxReportBytes) {
    const longest = steps
      .filter((step) => step.details)
      .sort((a, b) => JSON.stringify(b.details).length - JSON.stringify(a.details).length)[0];
    if (!longest)
      return JSON.stringify({ ...report, steps: undefined, error: report.error?.slice(0, 1000), truncated: true });
    longest.details = { truncated: true };
    text = JSON.stringify({ ...report, steps, truncated: true });
  }
  return text;
}

export async function writeReport(path: string | null, report: JobReport, log: Logger): Promise<void> {
  if (path === null) return;
  try {
    // issue 11: redacted before serialising and truncating (a secret cut in two, or JSON-escaped, would slip through)
    const redacted = redactValue(report, log.redact) as JobReport;
    await writeFile(path, `${log.redact(serializeReport(redacted))}\n`);
  } catch (error) {
    // The work is done and recorded; a lost report must not turn a success into a retry.
    log.error({ event: 'report.write_failed', file: path, error: reasonOf(error) });
  }
}
