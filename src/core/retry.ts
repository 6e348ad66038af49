import {
  ExponentialBackoff,
  handleWhen,
  noJitterGenerator,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type IPolicy,
} from 'cockatiel';
import { PreflightError } from './errors';

/**
 * The one retry policy of preflight, built on cockatiel (already installed with etcd3): capped
 * exponential backoff, bounded by a number of retries and/or a deadline, stopped at once by a stop
 * request. Every retrying site (waiting for stores, the job lock, DDL lock timeouts) calls
 * `retrying`; the etcd client uses `failover` for its per-call endpoint rotation.
 */
export interface RetryOptions {
  /** first delay; doubles on each retry up to `maxDelayMs` */
  initialDelayMs: number;
  maxDelayMs: number;
  /** retries after the first attempt; unbounded when only the deadline bounds them */
  maxRetries?: number;
  /** no retry starts after this long; the attempt running at the deadline is cut short */
  timeoutMs?: number;
  /** add up to this fraction of random delay, so that waiters do not move in lockstep */
  jitter?: number;
  /** only errors for which this is true are retried; the others are thrown at once */
  isRetryable(error: unknown): boolean;
  signal: AbortSignal;
  onRetry?(retry: number, error: unknown, delayMs: number): void;
}

/** What each attempt learns: how many ran before it and how long is left until the deadline. */
export interface Attempt {
  number: number;
  remainingMs: number;
}

/** Calls `attempt` until it succeeds or `options` say stop; rethrows the last meaningful error. */
export async function retrying<T>(attempt: (context: Attempt) => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = options.timeoutMs === undefined ? Infinity : performance.now() + options.timeoutMs;
  const remaining = () => deadline - performance.now();
  let lastError: unknown;
  const policy = retry(
    handleWhen((error) => !options.signal.aborted && remaining() > 0 && options.isRetryable(error)),
    {
      maxAttempts: options.maxRetries ?? Infinity,
      backoff: cappedBackoff(options, remaining),
    },
  );
  policy.onRetry((event) => {
    if ('error' in event) options.onRetry?.(event.attempt, event.error, Math.round(event.delay));
  });
  const run = policy.execute(async ({ attempt: number }) => {
    try {
      return await withinDeadline(attempt({ number, remainingMs: Math.max(remaining(), 500) }), deadline);
    } catch (error) {
      // An attempt cut short by the deadline says less than the failure before it.
      if (error instanceof DeadlineError && lastError !== undefined) throw lastError;
      lastError = error;
      throw error;
    }
  }, options.signal);
  return abortable(run, options.signal);
}

/** etcd3's per-call policy: try each endpoint at most once while the error is a connection error. */
export function failover(attempts: number, isRetryable: (error: Error) => boolean): IPolicy {
  return retry(handleWhen(isRetryable), { maxAttempts: Math.max(attempts - 1, 0) });
}

/** The error for a stop request: exit 130 for SIGINT, 143 for SIGTERM. */
export function interrupted(signal: AbortSignal, during = ''): PreflightError {
  const name = String(signal.reason);
  const where = during ? ` ${during}` : '';
  return new PreflightError(
    name === 'SIGINT' ? 'sigint' : 'sigterm',
    `interrupted by ${name}${where}: stopped at a safe point`,
  );
}

/** `work`, or an interruption as soon as the signal fires (cockatiel's backoff sleeps cannot be aborted). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(interrupted(signal));
  let onAbort: () => void = () => undefined;
  const stop = new Promise<never>((_, reject) => {
    onAbort = () => reject(interrupted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, stop]).finally(() => signal.removeEventListener('abort', onAbort));
}

type BackoffContext = IRetryBackoffContext<unknown>;

/** Exponential backoff whose delays never run past the deadline. */
function cappedBackoff(options: RetryOptions, remaining: () => number): IBackoffFactory<BackoffContext> {
  const exponential = new ExponentialBackoff({
    initialDelay: options.initialDelayMs,
    maxDelay: options.maxDelayMs,
    generator: noJitterGenerator,
  });
  const cap = (backoff: IBackoff<unknown>): IBackoff<BackoffContext> => ({
    duration: Math.max(0, Math.min(backoff.duration * (1 + Math.random() * (options.jitter ?? 0)), remaining())),
    next: (context) => cap(backoff.next(context) as IBackoff<unknown>),
  });
  return { next: () => cap(exponential.next()) };
}

/** An attempt that hangs (a dial that never completes) must not outlive the deadline. */
function withinDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  if (deadline === Infinity) return work;
  const remainingMs = Math.max(deadline - performance.now(), 500);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer within ${Math.round(remainingMs)}ms`)), remainingMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

class DeadlineError extends Error {}
