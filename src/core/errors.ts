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
  const known = asPreflightError(error);
  return known instanceof PreflightError ? known.exitCode : exitCodes.internal;
}

/** SQLSTATE classes that say what happened (issue 12): such a database error is no bug. */
const sqlStateKinds: Array<[prefix: string, kind: ErrorKind, hint: string]> = [
  ['42501', 'noperm', "the role lacks a privilege: GRANT it as the object's owner or a superuser"],
  ['28', 'config', 'the server refused the role: check the user, password and pg_hba.conf'],
  ['3D', 'config', 'the database does not exist: check the database name'],
  ['3F', 'config', 'the schema does not exist: check PREFLIGHT_SCHEMA or create the schema'],
  ['08', 'unavailable', 'the connection to PostgreSQL failed: retry'],
  ['57P0', 'unavailable', 'PostgreSQL is shutting down or starting up: retry'],
  ['53', 'unavailable', 'PostgreSQL is out of a resource (connections, disk, memory): retry when it has recovered'],
];

/** A database error whose SQLSTATE class is informative, as the PreflightError it means; anything else unchanged. */
export function asPreflightError(error: unknown): unknown {
  if (error instanceof PreflightError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code)) return error;
  const match = sqlStateKinds.find(([prefix]) => code.startsWith(prefix));
  if (!match) return error;
  return new PreflightError(match[1], `PostgreSQL: ${reasonOf(error)} (SQLSTATE ${code}): ${match[2]}`, {
    cause: error,
  });
}

/** A database or driver error's own message, without a stack. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
