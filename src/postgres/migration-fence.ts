import type { Client, QueryResult } from 'pg';
import type { QueryRunner } from 'typeorm';
import { PreflightError } from '../core/errors';
import { backendWait } from './backend';
import { fenceStatements, recordStarted } from './ledger';
import type { StatementGuard } from './migration-session';
import type { ExecutorOptions, Step } from './run-migrations';

/** The executor's view of one run: the session, the guard around the migrations' statements, a side connection. */
export interface Session {
  /** why the session died, once it did */
  lost(): string | undefined;
  runner: QueryRunner;
  /** the executor opens and commits each migration's transaction itself, telling TypeORM (no subscriber listens) */
  ownTransactions: boolean;
  guard: StatementGuard;
  pid: number;
  keys: [number, number];
  options: ExecutorOptions;
  /** a second connection, opened on demand, to watch or cancel the migration's backend */
  observer(): Promise<Client>;
}

type FenceRow = { recorded: boolean; ledger_state: string | null };

/**
 * The fence statements, after a BEGIN when `begin` (one round trip for both): the recorded state of
 * the step's migration, read once the job key is held at transaction level.
 */
async function fenceRow(session: Session, step: Step, begin: boolean): Promise<FenceRow> {
  const { client, location } = session.options;
  const [lock, check] = fenceStatements(location, session.keys, step.source.name);
  const results = (await client.query(
    `${begin ? 'BEGIN;\n' : ''}${lock};\n${check}`,
  )) as unknown as QueryResult<FenceRow>[];
  return results[results.length - 1].rows[0];
}

/**
 * Inside the migration's transaction: true when it is still to be done (up: unrecorded; down:
 * recorded). With `begin`, the fence opens that transaction itself (BEGIN in the same round trip)
 * and tells TypeORM's runner, as its startTransaction would have.
 */
export async function fence(session: Session, step: Step, begin = false): Promise<boolean> {
  if (begin) markTransaction(session.runner, true);
  const row = await fenceRow(session, step, begin);
  return step.direction === 'up' ? !row.recorded : row.recorded;
}

/**
 * Tells TypeORM's runner that preflight opened (or ended) a top-level transaction on its session:
 * the two fields PostgresQueryRunner.startTransaction / commitTransaction keep, so
 * `isTransactionActive` holds, a nested startTransaction in a migration takes a SAVEPOINT, and
 * rollbackTransaction sends ROLLBACK. (A test checks this against the installed TypeORM.)
 */
export function markTransaction(runner: QueryRunner, open: boolean): void {
  const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
  state.isTransactionActive = open;
  state.transactionDepth = open ? 1 : 0;
}

/**
 * Before a `transaction = false` migration: the fence in a short transaction of its own, which for
 * `up` also commits the `started` row, so no other instance starts it while it runs or after it died.
 */
export async function fenceOutside(session: Session, step: Step): Promise<boolean> {
  const { client, location, appliedBy, preflightVersion } = session.options;
  const { source } = step;
  try {
    const row = await fenceRow(session, step, true);
    const todo = step.direction === 'up' ? !row.recorded : row.recorded;
    if (todo && step.direction === 'up') {
      if (row.ledger_state === 'started')
        session.options.log.warn({
          event: 'migration.restarted',
          name: source.name,
          message: 'an earlier run started it and stopped before any of its statements committed; running it again',
        });
      const inserted = await client.query(
        ...recordStarted(location, { ...source, durationMs: null, appliedBy, preflightVersion }),
      );
      if (inserted.rowCount === 0)
        throw new PreflightError(
          'data',
          `migration ${source.name} is recorded as partial (it ran outside a transaction and stopped half-way): resolve it with preflight repair ${source.name} --applied or --rolled-back`,
        );
    }
    await client.query('COMMIT');
    return todo;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The heartbeat of a long migration: what its backend waits on, from the side connection. */
export async function describe(session: Session, name: string, event: string, started: number): Promise<void> {
  const elapsedMs = Math.round(performance.now() - started);
  try {
    const waiting = await backendWait(await session.observer(), session.pid);
    session.options.log.info({ event: `${event}.running`, name, elapsedMs, waiting: waiting ?? null });
  } catch {
    session.options.log.info({ event: `${event}.running`, name, elapsedMs });
  }
}
