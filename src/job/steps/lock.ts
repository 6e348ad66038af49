import { acquireJobLock, releaseJobLock, upgradeJobLock, type HeldLock } from '../job-lock';
import { sessionOf, type JobContext, type Step } from './step';

/**
 * Takes the session-level job lock on the job's own session; waits up to PREFLIGHT_LOCK_TIMEOUT.
 * `shareWhenBusy`: when another instance holds it, wait for the shared mode (job-lock.ts).
 */
export const lockStep: Step<{ shareWhenBusy: boolean }, HeldLock> = {
  name: 'lock',
  async run(job, { shareWhenBusy }) {
    const held = await acquireJobLock(sessionOf(job), job.config, job.log, job.signal, { shareWhenBusy });
    job.sharedLock = held.shared;
    job.events.emit({ type: 'lock.acquired', waitedMs: held.waitedMs });
    return {
      status: 'applied',
      details: { waitedMs: held.waitedMs, ...(held.shared ? { mode: 'shared' } : {}) },
      value: held,
    };
  },
};

/** From shared to exclusive because of `reason` (what a step found to write); the steps after the lock run again. */
export async function upgradeLock(job: JobContext, lock: HeldLock, reason: string): Promise<HeldLock> {
  job.log.info({
    event: 'lock.upgrading',
    reason,
    message: 'found something to write while holding the job lock shared: taking it exclusively, then planning again',
  });
  const held = await upgradeJobLock(sessionOf(job), lock, job.config, job.log, job.signal);
  job.sharedLock = false;
  job.events.emit({ type: 'lock.upgraded', waitedMs: held.waitedMs, reason });
  return held;
}

/**
 * Releases the job lock; never throws. A failure is only logged (the lock goes with the session
 * anyway); a lost session is remembered, and the job then fails with 75 (see withJob).
 */
export async function releaseLock(job: JobContext, lock: HeldLock): Promise<void> {
  await releaseJobLock(sessionOf(job), lock, job.log);
}
