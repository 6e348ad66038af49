import { reasonOf } from '../../core/errors';
import { unlock } from '../../postgres/advisory-lock';
import { acquireJobLock, type HeldLock } from '../job-lock';
import { sessionOf, type JobContext, type Step } from './step';

/** Takes the session-level job lock on the job's own session; waits up to PREFLIGHT_LOCK_TIMEOUT. */
export const lockStep: Step<void, HeldLock> = {
  name: 'lock',
  async run(job) {
    const held = await acquireJobLock(sessionOf(job), job.config, job.log, job.signal);
    job.events.emit({ type: 'lock.acquired', waitedMs: held.waitedMs });
    return { status: 'applied', details: { waitedMs: held.waitedMs }, value: held };
  },
};

/** Releases the job lock; a failure is only logged (the lock goes with the session anyway). */
export async function releaseLock(job: JobContext, lock: HeldLock): Promise<void> {
  await unlock(sessionOf(job), lock.keys).catch((error: unknown) =>
    job.log.warn({ event: 'lock.release_failed', error: reasonOf(error) }),
  );
}
