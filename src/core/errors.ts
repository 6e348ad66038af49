/**
 * Errors as data: every failure preflight expects carries a kind, and one table maps kinds to the
 * exit codes documented in the README (DESIGN §3). Only src/cli/main.ts turns them into an exit.
 */
export const exitCodes = {
  /** success, including "nothing to do" */
  ok: 0,
  /** an unexpected internal error (a bug) */
  internal: 1,
  /** bad command-line usage */
  usage: 2,
  /** status/verify: work is pending */
  pending: 3,
  /** drift, unknown applied migration, out of order, invalid fixture file */
  data: 65,
  /** a store is unreachable within the wait timeout, or unsupported */
  unavailable: 69,
  /** a migration, seed, fixture or Redis step failed while applying */
  software: 70,
  /** lock not acquired in time, or DDL lock timeouts exhausted */
  tempfail: 75,
  /** insufficient privileges: the message names the GRANT */
  noperm: 77,
  /** configuration error */
  config: 78,
  /** interrupted by SIGINT */
  sigint: 130,
  /** interrupted by SIGTERM */
  sigterm: 143,
} as const;

export type ErrorKind = Exclude<keyof typeof exitCodes, 'ok' | 'pending'>;

/**
 * The one error class of preflight. `message` is the single line a person reads first: it names the
 * culprit (variable, file, migration, key) and says what to do; `details` holds further lines.
 */
export class PreflightError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: { cause?: unknown; details?: string[] } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PreflightError';
    this.details = options.details ?? [];
  }

  readonly details: string[];

  get exitCode(): number {
    return exitCodes[this.kind];
  }
}

/** The exit code for anything thrown: a PreflightError's own, 1 for anything else (a bug). */
export function exitCodeOf(error: unknown): number {
  return error instanceof PreflightError ? error.exitCode : exitCodes.internal;
}

/** A database or driver error's own message, without a stack. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
