import type { QueryRunner } from 'typeorm';
import { PreflightError, reasonOf } from '../core/errors';
import type { Logger } from '../log/logger';
import { isConnectionLoss } from './session';

interface FailedStep {
  source: { name: string };
  direction: 'up' | 'down';
}

/** The PreflightError a migration's statements raised through TypeORM (which wraps driver errors). */
function preflightErrorIn(error: unknown): PreflightError | undefined {
  if (error instanceof PreflightError) return error;
  const inner = (error as { driverError?: unknown } | null)?.driverError;
  return inner instanceof PreflightError ? inner : undefined;
}

/**
 * What a failed migration means for the person running the job: interrupted (130/143), the session
 * lost (75: it holds the job lock, and nothing more can commit on it), out of lock retries (75), or
 * the migration itself failed (70, "fix the migration").
 */
export function migrationFailure(
  step: FailedStep,
  error: unknown,
  transactional: boolean,
  signal: AbortSignal,
): PreflightError {
  const name = step.source.name;
  const outcome = transactional
    ? 'rolled back, nothing recorded'
    : 'it ran outside a transaction and no statement of it committed, nothing recorded';
  if (signal.aborted) {
    const kind = signal.reason === 'SIGINT' ? 'sigint' : 'sigterm';
    return new PreflightError(kind, `interrupted by ${String(signal.reason)} during migration ${name}: ${outcome}`, {
      cause: error,
    });
  }
  const own = preflightErrorIn(error);
  if (own) return own;
  if (isConnectionLoss(error)) return sessionLost(name, error, outcome);
  const verb = step.direction === 'up' ? 'failed' : 'failed to revert';
  return new PreflightError(
    'software',
    `migration ${name} ${verb}: ${reasonOf(error)} (${outcome}; fix the migration and re-run)`,
    { cause: error },
  );
}

/** The session holding the job lock is gone: exit 75 whatever was running. */
export function sessionLost(during: string | undefined, error: unknown, outcome?: string): PreflightError {
  const where = during ? ` during migration ${during}` : '';
  const what = outcome ? `${outcome}; ` : '';
  return new PreflightError(
    'tempfail',
    `connection lost: the PostgreSQL session holding the job lock ended${where} (${reasonOf(error)}): ${what}no later migration was started; a re-run is safe`,
    { cause: error },
  );
}

/** A `transaction = false` migration failed after some of its statements committed: recorded as partial. */
export function partialFailure(
  name: string,
  progress: { done: number; last: string },
  error: unknown,
  signal: AbortSignal,
): PreflightError {
  const reason = signal.aborted
    ? `interrupted by ${String(signal.reason)}`
    : reasonOf(preflightErrorIn(error) ?? error);
  const kind = signal.aborted ? (signal.reason === 'SIGINT' ? 'sigint' : 'sigterm') : 'software';
  return new PreflightError(
    kind,
    `migration ${name} ran outside a transaction and stopped after ${progress.done} of its statements committed (last that succeeded: ${progress.last}): ${reason}; recorded as partial: complete or undo it by hand, then run preflight repair ${name} --applied or --rolled-back`,
    { cause: error },
  );
}

/** What a lost session left of the migration it was running. */
export function lostOutcome(transactional: boolean, progress: { done: number; last: string }): string {
  if (transactional) return 'PostgreSQL rolled back its transaction, nothing recorded';
  if (progress.done === 0) return 'it ran outside a transaction and none of its statements committed';
  return `it ran outside a transaction and ${progress.done} of its statements committed (last: ${progress.last}): the next run refuses it until preflight repair`;
}

/** A failing ROLLBACK (the connection is gone: the server rolls back on its own) never hides the original error. */
export async function rollback(runner: QueryRunner, log: Logger, name: string): Promise<void> {
  try {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    log.info({ event: 'migration.rolled_back', name });
  } catch (error) {
    log.warn({ event: 'migration.rollback_failed', name, error: reasonOf(error) });
  }
}
