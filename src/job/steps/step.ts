import type { Client } from 'pg';
import type { RedisClient as Redis } from '../../redis/client';
import type { Config } from '../../config';
import type { EtcdAccess } from '../../etcd/access';
import type { JobEvents, StepName, StepStatus } from '../../core/events';
import { interrupted } from '../../core/retry';
import type { Logger } from '../../log/logger';

/**
 * What every step receives. The stores are opened by the wait step and closed by the pipeline,
 * whatever happens; a step never closes what it did not open.
 */
export interface JobContext {
  config: Config;
  log: Logger;
  /** aborted by SIGTERM/SIGINT: steps stop at their next safe point */
  signal: AbortSignal;
  events: JobEvents;
  /** the job's own PostgreSQL session: it holds the job lock, reads the plan, records adoption, seeds */
  session?: Client;
  /** reads through etcd's gateway, writes through etcd3 loaded on first use */
  etcd?: EtcdAccess;
  redis?: Redis;
  /**
   * The job holds the lock only shared (it waited for another instance, see job-lock.ts): it may
   * read, and a step that finds something to write calls `requireExclusive` before writing.
   */
  sharedLock?: boolean;
}

/** A step's result: its status and details for the report, and the value the next steps use. */
export interface StepOutcome<T> {
  status: Exclude<StepStatus, 'failed'>;
  details?: Record<string, unknown>;
  value: T;
}

/** One stage of the pipeline (src/job/run-job.ts): a name for the report and a function. */
export interface Step<In, Out> {
  name: StepName;
  run(job: JobContext, input: In): Promise<StepOutcome<Out>>;
}

/** Runs `step` unless the job was asked to stop, and tells the world how it went (`step.finished`). */
export async function runStep<In, Out>(step: Step<In, Out>, job: JobContext, input: In): Promise<Out> {
  if (job.signal.aborted) throw interrupted(job.signal, `before ${step.name}`);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const { status, details, value } = await step.run(job, input);
    job.events.emit({ type: 'step.finished', step: step.name, status, durationMs: elapsed(), details });
    return value;
  } catch (error) {
    if (!(error instanceof ExclusiveNeeded))
      job.events.emit({ type: 'step.finished', step: step.name, status: 'failed', durationMs: elapsed() });
    throw error;
  }
}

/** A step found something to write while the job holds the lock shared: run-job.ts upgrades it and runs the steps again. */
export class ExclusiveNeeded extends Error {}

/** Call before a step's first write: under a shared lock it stops the step, saying why (`reason`). */
export function requireExclusive(job: JobContext, reason: string): void {
  if (job.sharedLock) throw new ExclusiveNeeded(reason);
}

/** The session the wait step opened; every step after it may rely on it. */
export function sessionOf(job: JobContext): Client {
  if (!job.session) throw new Error('the wait step has not opened the PostgreSQL session');
  return job.session;
}
