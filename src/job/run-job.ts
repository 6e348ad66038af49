import type { Config } from '../config';
import { PreflightError, asPreflightError, reasonOf } from '../core/errors';
import { JobEvents } from '../core/events';
import { interrupted } from '../core/retry';
import { logJobEvents } from '../log/log-events';
import type { Logger } from '../log/logger';
import { classifyConnectionLoss, lockLostReason } from './job-lock';
import { collectReport, type JobReport } from './report';
import { backupStep } from './steps/backup';
import { checkStep } from './steps/check';
import { fixturesStep } from './steps/fixtures';
import { lockStep, releaseLock, upgradeLock } from './steps/lock';
import { migrateStep } from './steps/migrate';
import { planStep } from './steps/plan';
import { seedStep } from './steps/seed';
import { ExclusiveNeeded, runStep, type JobContext } from './steps/step';
import { waitStep } from './steps/wait';

/** The outcome of a job: the report (whose exitCode the CLI exits with) and what ended it, when it failed. */
export interface JobOutcome {
  report: JobReport;
  error?: unknown;
}

/**
 * The job (DESIGN §1): wait → check → lock → plan → backup → migrate → seed → fixtures → report.
 * An instance that finds the lock taken waits for it shared and only reads; if it then finds
 * something to write, it takes the lock exclusively and runs the steps after the lock again.
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
      let lock = await runStep(lockStep, job, { shareWhenBusy: true });
      try {
        const lockedSteps = async () => {
          const plan = await runStep(planStep, job, checked.sources);
          await runStep(backupStep, job, plan);
          await runStep(migrateStep, job, plan);
          await runStep(seedStep, job, undefined);
          await runStep(fixturesStep, job, checked.files);
        };
        try {
          await lockedSteps();
        } catch (error) {
          // Held shared (another instance ran first) and a step found something to write.
          if (!(error instanceof ExclusiveNeeded)) throw error;
          lock = await upgradeLock(job, lock, error.message);
          await lockedSteps();
        }
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
 * are logged. A failure after
 * a stop request is reported as the interruption (130/143), not as what the cancel made fail.
 */
export async function withJob<T>(
  context: Omit<JobContext, 'events'> & { events?: JobEvents },
  work: (job: JobContext) => Promise<T>,
): Promise<T> {
  const job: JobContext = { ...context, events: context.events ?? new JobEvents() };
  const { log, signal } = job;
  const stopLogging = logJobEvents(job.events, log);
  // A stop request cancels a running migration's statement in the executor (postgres/run-migrations.ts).
  try {
    const result = await work(job);
    // issue 11: losing the lock's session fails the job (75) even when every step succeeded
    const lost = lockLostReason(job.session);
    if (lost !== undefined) throw classifyConnectionLoss(undefined, lost);
    return result;
  } catch (error) {
    const isInterruption = error instanceof PreflightError && (error.kind === 'sigint' || error.kind === 'sigterm');
    // issue 11: a lost connection is 75 (the lock's session) or 69, never 1 "a bug"
    throw signal.aborted && !isInterruption
      ? interrupted(signal)
      : classifyConnectionLoss(error, lockLostReason(job.session));
  } finally {
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
