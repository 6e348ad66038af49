import { PreflightError } from './errors';

/** Resolves after `ms`, or early (rejecting with an interruption) when the job is asked to stop. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(interrupted(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error for a stop request: exit 130 for SIGINT, 143 for SIGTERM. */
export function interrupted(signal: AbortSignal, during = ''): PreflightError {
  const name = String(signal.reason);
  return new PreflightError(name === 'SIGINT' ? 'sigint' : 'sigterm', `interrupted by ${name}${during ? ` ${during}` : ''}: stopped at a safe point`);
}

export interface RetryOptions {
  timeoutMs: number;
  signal: AbortSignal;
  /** first delay; doubles each attempt up to `maxDelayMs` */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** errors for which retrying cannot help (wrong password): thrown at once */
  isPermanent?(error: unknown): boolean;
  onRetry?(attempt: number, error: unknown, delayMs: number): void;
}

/** Calls `attempt` until it succeeds, with capped exponential backoff; after the timeout rethrows the last error. */
/** `attempt` receives the time left, to bound its own connect timeout. */
export async function retryUntil<T>(attempt: (remainingMs: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let delayMs = options.initialDelayMs ?? 100;
  let lastError: unknown;
  for (let count = 1; ; count++) {
    try {
      return await withinDeadline(attempt(Math.max(deadline - performance.now(), 500)), deadline);
    } catch (error) {
      if (options.signal.aborted) throw interrupted(options.signal);
      const remainingMs = deadline - performance.now();
      if (options.isPermanent?.(error)) throw error;
      // An attempt cut short by the deadline says less than the failure before it.
      if (remainingMs <= 0) throw error instanceof DeadlineError && lastError !== undefined ? lastError : error;
      lastError = error;
      const waitMs = Math.min(delayMs, remainingMs);
      options.onRetry?.(count, error, Math.round(waitMs));
      await sleep(waitMs, options.signal);
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 2000);
    }
  }
}

/** An attempt that hangs (a dial that never completes) must not outlive the wait timeout. */
function withinDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const remainingMs = Math.max(deadline - performance.now(), 500);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer within ${Math.round(remainingMs)}ms`)), remainingMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

class DeadlineError extends Error {}
