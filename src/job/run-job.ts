import type { Config } from '../config';
import { PreflightError, asPreflightError, reasonOf } from '../core/errors';
import { JobEvents } from '../core/events';
import { interrupted } from '../core/retry';
import { logJobEvents } from '../log/log-events';
import type { Logger } from '../log/logger';
import { cancelBackend } from '../postgres/backend';
import { collectReport, type JobReport } from './report';
import { backupStep } from './steps/backup';
import { checkStep } from './steps/check';
import { fixturesStep } from './steps/fixtures';
import { lockStep, releaseLock } from './steps/lock';
import { migrateStep } from './steps/migrate';
import { planStep } from './steps/plan';
import { seedStep } from './steps/seed';
import { runStep, type JobContext } from './steps/step';
import { waitStep } from './steps/wait';

/** The outcome of a job: the report (whose exitCode the CLI exits with) and what ended it, when it failed. */
export interface JobOutcome {
  report: JobReport;
  error?: unknown;
}

/**
 * The job (DESIGN §1): wait → check → lock → plan → backup → migrate → seed → fixtures → report.
 * Throws nothing: a failure is in the returned report. Subscribe to `events` to follow it.
 */
export async function runJob(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  events = new JobEvents(),
): Promise<JobOutcome> {
  const report = collectReport(config, events);
  let failure: unknown;
  try {
    await withJob({ config, log, signal, events }, async (job) => {
      await runStep(waitStep, job, undefined);
      const checked = await runStep(checkStep, job, undefined);
      const lock = await runStep(lockStep, job, undefined);
      try {
        const plan = await runStep(planStep, job, checked.sources);
        await runStep(backupStep, job, plan);
        await runStep(migrateStep, job, plan);
        await runStep(seedStep, job, undefined);
        await runStep(fixturesStep, job, checked.files);
      } finally {
        await releaseLock(job, lock);
      }
    });
  } catch (error) {
    failure = asPreflightError(error); // an informative SQLSTATE is no bug (issue 12)
  }
  return { report: report.finish(failure), error: failure };
}

/**
 * Runs `work` with a job context whose stores are closed afterwards whatever happens, whose events
 * are logged, and where a stop request cancels the statement a migration is running. A failure after
 * a stop request is reported as the interruption (130/143), not as what the cancel made fail.
 */
export async function withJob<T>(
  context: Omit<JobContext, 'events'> & { events?: JobEvents },
  work: (job: JobContext) => Promise<T>,
): Promise<T> {
  const job: JobContext = { ...context, events: context.events ?? new JobEvents() };
  const { log, signal } = job;
  const stopLogging = logJobEvents(job.events, log);
  const cancelRunningStatement = () => {
    if (job.migrationPid === undefined || !job.session) return;
    log.warn({ event: 'job.stopping', reason: String(signal.reason), cancelling: `backend ${job.migrationPid}` });
    cancelBackend(job.session, job.migrationPid).catch((error: unknown) =>
      log.warn({ event: 'job.cancel_failed', error: reasonOf(error) }),
    );
  };
  signal.addEventListener('abort', cancelRunningStatement, { once: true });
  try {
    return await work(job);
  } catch (error) {
    const isInterruption = error instanceof PreflightError && (error.kind === 'sigint' || error.kind === 'sigterm');
    throw signal.aborted && !isInterruption ? interrupted(signal) : error;
  } finally {
    signal.removeEventListener('abort', cancelRunningStatement);
    await closeStores(job);
    stopLogging();
  }
}

async function closeStores(job: JobContext): Promise<void> {
  const closing: Array<Promise<unknown>> = [];
  if (job.session) closing.push(job.session.end());
  if (job.etcd) closing.push(Promise.resolve(job.etcd.close()));
  if (job.redis) closing.push(job.redis.quit());
  for (const result of await Promise.allSettled(closing)) {
    if (result.status === 'rejected') job.log.debug({ event: 'job.close_failed', error: reasonOf(result.reason) });
  }
}
