import type { Config } from '../config';
import { PreflightError, reasonOf } from '../core/errors';
import { sqlState } from '../postgres/connection';
import { isTlsVerificationError } from '../core/tls-errors';

/** Where preflight looked, e.g. `PostgreSQL at db1:5432,db2:5432 (database app)`. */
export function describePostgres(config: Config): string {
  const hosts = config.postgres.hosts ?? [{ host: config.postgres.host, port: config.postgres.port }];
  const list = hosts.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  return `PostgreSQL at ${list.join(',')} (database ${config.postgres.database})`;
}

/**
 * A connection failure that waiting cannot fix, as the PreflightError to report at once (78 for
 * settings, 77 for a missing privilege); undefined for what may pass (refused, unreachable, timeout,
 * "the database system is starting up"), which the caller retries until the wait timeout.
 */
export function permanentPostgresFailure(error: unknown, config: Config): PreflightError | undefined {
  if (error instanceof PreflightError) return error;
  const where = describePostgres(config);
  const { user, database, sslMode } = config.postgres;
  const reason = reasonOf(error);
  const state = sqlState(error) ?? '';
  const fail = (kind: 'config' | 'noperm', message: string) => new PreflightError(kind, message, { cause: error });
  if (isTlsVerificationError(error)) {
    return fail(
      'config',
      `${where}: the server's TLS certificate did not verify (${reason}): set sslrootcert to the CA that signed it${sslMode === 'verify-full' ? ' and connect by a name the certificate lists' : ''}, or change sslmode`,
    );
  }
  if (/does not support SSL/i.test(reason)) {
    return fail(
      'config',
      `${where} does not accept TLS, which sslmode=${sslMode} requires: enable ssl on the server, or use sslmode=prefer or disable`,
    );
  }
  if (
    /client password must be a string|password must be a string|no password (was )?(supplied|provided)/i.test(reason)
  ) {
    return fail(
      'config',
      `${where} requires a password for role ${user} and none was given: put it in DATABASE_URL, PGPASSWORD or PGPASSWORD_FILE`,
    );
  }
  if (state === '28P01') {
    return fail(
      'config',
      `${where} rejected the credentials of user ${user}: check DATABASE_URL or PGUSER/PGPASSWORD (password authentication failed)`,
    );
  }
  if (state.startsWith('28')) {
    return fail(
      'config',
      `${where} refused role ${user}: ${reason} — check that the role exists and that pg_hba.conf admits it from here (and sslmode)`,
    );
  }
  if (state === '3D000' && !config.createDatabase) {
    return fail(
      'config',
      `${where}: database "${database}" does not exist: create it, fix the name, or set PREFLIGHT_CREATE_DATABASE=true`,
    );
  }
  if (state === '42501') {
    return fail(
      'noperm',
      `${where}: role ${user} may not connect (${reason}): GRANT CONNECT ON DATABASE "${database}" TO "${user}"`,
    );
  }
  return undefined;
}

/** CREATE DATABASE refused for want of the privilege: 77 with the fix. */
export function createDatabaseFailure(error: unknown, config: Config): unknown {
  if (sqlState(error) !== '42501') return error;
  const { user, database } = config.postgres;
  return new PreflightError(
    'noperm',
    `role ${user} may not create database ${database} (PREFLIGHT_CREATE_DATABASE=true): ALTER ROLE "${user}" CREATEDB, or create the database beforehand`,
    { cause: error },
  );
}
