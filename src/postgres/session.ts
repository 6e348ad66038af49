import type { Client } from 'pg';
import { sqlState } from './connection';

/**
 * preflight's own sessions must not be cut by the server for idling: the job lock lives on one, and
 * a migration waiting on a lock elsewhere leaves its transaction idle between statements. Both
 * settings are local to the session (`idle_session_timeout` exists from PostgreSQL 14 on).
 */
export async function keepSessionAlive(client: Client): Promise<void> {
  // idle_session_timeout exists from PostgreSQL 14 on; CASE evaluates its set_config only where it
  // does (reading the pg_settings view instead costs the server milliseconds).
  await client.query(
    `SELECT set_config('idle_in_transaction_session_timeout', '0', false),
            CASE WHEN current_setting('idle_session_timeout', true) IS NOT NULL
                 THEN set_config('idle_session_timeout', '0', false) END`,
  );
}

const lostMessages = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'Connection closed',
  'server closed the connection',
];
const lostCodes = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ECONNABORTED', 'EHOSTUNREACH']);

/**
 * True when `error` says the session is gone (not that a statement failed): a reset or cut
 * connection, a server shut down or restarted, or a backend terminated by an administrator
 * (SQLSTATE class 08 and 57P01..57P03). Looks through wrappers (TypeORM's QueryFailedError, causes).
 */
export function isConnectionLoss(error: unknown, depth = 0): boolean {
  if (error === null || error === undefined || depth > 4) return false;
  const state = sqlState(error);
  if (state && (state.startsWith('08') || ['57P01', '57P02', '57P03'].includes(state))) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && lostCodes.has(code)) return true;
  const message = error instanceof Error ? error.message : '';
  if (lostMessages.some((text) => message.includes(text))) return true;
  const inner = error as { driverError?: unknown; cause?: unknown };
  return isConnectionLoss(inner.driverError, depth + 1) || isConnectionLoss(inner.cause, depth + 1);
}

/** Watches a session: `lost()` is the reason once it errored or ended, undefined while it lives. */
export interface SessionWatch {
  lost(): string | undefined;
  stop(): void;
}

export function watchSession(client: Client): SessionWatch {
  let reason: string | undefined;
  const onError = (error: Error) => (reason ??= error.message || 'connection error');
  const onEnd = () => (reason ??= 'the connection was closed');
  client.on('error', onError);
  client.on('end', onEnd);
  return {
    lost: () => reason,
    stop: () => {
      client.removeListener('error', onError);
      client.removeListener('end', onEnd);
    },
  };
}
