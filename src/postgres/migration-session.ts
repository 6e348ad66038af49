import type { Client, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import type { Logger } from '../log/logger';
import { PreflightError, reasonOf } from '../core/errors';
import { interrupted, retrying } from '../core/retry';
import { sqlState } from './connection';
import { projectOptions } from './project-options';

/** lock_not_available: raised when lock_timeout expires */
const lockTimeoutState = '55P03';

export interface GuardOptions {
  ddlRetries: number;
  ddlLockTimeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

/**
 * Stands between a migration and the session: while `active`, a lock timeout retries only the
 * statement that hit it. Inside a transaction every statement is preceded by a SAVEPOINT (sent in
 * the same round trip when the statement has no parameters) and a lock timeout rolls back to it;
 * outside one, the statement is simply issued again (it committed nothing). A statement that
 * succeeded is never sent again. Outside a transaction, each statement that changed something is
 * reported to `onCommitted` (the ledger records the progress of a `transaction = false` migration).
 *
 * The savepoint of the previous statement is released in the same round trip as the next one's,
 * so they do not nest as deep as a migration has statements (past 64 a backend's subtransaction
 * cache overflows, which slows every session's snapshots on the server) — except after a statement
 * that itself names a savepoint (TypeORM's nested transactions: releasing ours there would release
 * theirs too).
 */
export class StatementGuard {
  active = false;
  migration = '';
  inTransaction: () => boolean = () => false;
  onCommitted: (statement: string) => Promise<void> = async () => undefined;
  /** statements retried after a lock timeout, in this migration */
  retried = 0;
  /** the latest preflight_statement savepoint may be released before the next statement; false at a transaction's start */
  releasable = false;

  constructor(
    private readonly client: Client,
    private readonly options: GuardOptions,
  ) {}

  /** What TypeORM is given as its connection: the session itself, with `query` guarded. */
  connection(): Client {
    const query = (text: unknown, parameters?: unknown[]) =>
      typeof text === 'string' && this.active
        ? this.run(text, parameters)
        : this.client.query(text as string, parameters);
    return new Proxy(this.client, {
      get: (target, property) => {
        if (property === 'query') return query;
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private async run(text: string, parameters?: unknown[]): Promise<unknown> {
    const { client, options } = this;
    const inTransaction = this.inTransaction();
    const plain = !parameters || parameters.length === 0;
    let attempts = 0;
    const release = inTransaction && this.releasable ? 'RELEASE SAVEPOINT preflight_statement;\n' : '';
    const attempt = async (): Promise<unknown> => {
      attempts++;
      try {
        if (!inTransaction) return await client.query(text, parameters);
        if (plain) {
          const results = (await client.query(
            `${release}SAVEPOINT preflight_statement;\n${text}`,
          )) as unknown as QueryResult[];
          const own = release ? 2 : 1;
          return results.length === own + 1 ? results[own] : results.slice(own);
        }
        await client.query(`${release}SAVEPOINT preflight_statement`);
        return await client.query(text, parameters);
      } catch (error) {
        if (inTransaction && sqlState(error) === lockTimeoutState)
          await client.query('ROLLBACK TO SAVEPOINT preflight_statement');
        throw error;
      }
    };
    // No lock timeout, no retry policy: most statements run once and are done.
    if (options.signal.aborted) throw interrupted(options.signal);
    let result: unknown;
    try {
      result = await attempt();
    } catch (error) {
      if (sqlState(error) !== lockTimeoutState) throw error;
      result = await this.retry(attempt, error, text, () => attempts);
    }
    if (inTransaction) this.releasable = !/\bSAVEPOINT\b/i.test(text);
    if (!inTransaction && changedSomething(result)) await this.onCommitted(text);
    return result;
  }

  /**
   * After a statement's first lock timeout: the retry policy (`retrying`), handed that failed
   * attempt as its own first one, so backoff, bounds and messages are those of every retry.
   */
  private async retry(
    attempt: () => Promise<unknown>,
    first: unknown,
    text: string,
    attempts: () => number,
  ): Promise<unknown> {
    const { options } = this;
    let failed: unknown = first;
    const replayed = async (): Promise<unknown> => {
      if (failed === undefined) return attempt();
      const error = failed;
      failed = undefined;
      throw error;
    };
    try {
      return await retrying(replayed, {
        initialDelayMs: 500,
        maxDelayMs: 10_000,
        maxRetries: options.ddlRetries,
        signal: options.signal,
        isRetryable: (error) => sqlState(error) === lockTimeoutState,
        onRetry: (retry, error, delayMs) => {
          this.retried++;
          options.log.warn({
            event: 'migration.lock_timeout',
            name: this.migration,
            attempt: retry,
            retryInMs: delayMs,
            statement: statementText(text),
            error: reasonOf(error),
          });
        },
      });
    } catch (error) {
      if (sqlState(error) !== lockTimeoutState || options.signal.aborted) throw error;
      throw new PreflightError(
        'tempfail',
        `migration ${this.migration} could not take its locks within ${options.ddlLockTimeoutMs}ms in ${attempts()} attempts (a long-running transaction holds them): retry later, or raise PREFLIGHT_DDL_LOCK_TIMEOUT / PREFLIGHT_DDL_RETRIES`,
        { cause: error, details: [`statement: ${statementText(text)}`] },
      );
    }
  }
}

/** A statement for a log line or the ledger: one line, at most 200 characters. */
export function statementText(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

const readOnly = new Set(['SELECT', 'SHOW', 'SET', 'RESET', 'EXPLAIN']);

function changedSomething(result: unknown): boolean {
  const results = (Array.isArray(result) ? result : [result]) as Array<{ command?: string | null }>;
  return results.some((one) => typeof one?.command === 'string' && !readOnly.has(one.command));
}

/**
 * TypeORM on the given session: its "pool" hands out that one connection and never closes it, so
 * migrations run on the session that holds the job lock (if that session dies, PostgreSQL rolls
 * back what it was doing, and nothing can commit after the lock is lost).
 */
export async function typeormOn(connection: Client, project?: Record<string, unknown>): Promise<DataSource> {
  const { DataSource } = await import('typeorm');
  class SessionPool {
    connect(callback: (error: undefined, client: Client, release: () => void) => void): void {
      callback(undefined, connection, () => undefined);
    }
    on(): this {
      return this;
    }
    end(callback?: () => void): Promise<void> {
      callback?.();
      return Promise.resolve();
    }
  }
  const dataSource = new DataSource({
    ...projectOptions(project),
    type: 'postgres',
    driver: { Pool: SessionPool },
    logging: false,
  });
  return dataSource.initialize();
}
