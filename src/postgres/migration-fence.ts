import type { Client, QueryResult } from 'pg';
import type { QueryRunner } from 'typeorm';
import { PreflightError } from '../core/errors';
import { backendWait } from './backend';
import { fenceStatements, recordStarted } from './ledger';
import type { StatementGuard } from './migration-session';
import { isConnectionLoss } from './session';
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

export type FenceRow = { recorded: boolean; ledger_state: string | null };

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
  return stillToDo(await fenceRow(session, step, begin), step);
}

/** What the fence's row says of a step: up is to be done while unrecorded, down while recorded. */
export function stillToDo(row: FenceRow, step: Step): boolean {
  return step.direction === 'up' ? !row.recorded : row.recorded;
}

/** A step whose transaction the executor opens itself, so its BEGIN and fence can ride on the previous COMMIT. */
function opensOwnTransaction(session: Session, step: Step): boolean {
  return session.ownTransactions && session.options.transactionMode === 'each' && step.migration.transaction !== false;
}

/** The transaction the executor opened is the only one open (the migration left no nested one behind). */
export function openedOnce(runner: QueryRunner): boolean {
  return runner.isTransactionActive && (runner as unknown as { transactionDepth: number }).transactionDepth === 1;
}

/**
 * Ends a migration's own transaction: its records and COMMIT in one round trip and, with a `next`
 * that opens its own transaction and no stop request, its BEGIN and fence in that same round trip (one round trip per migration
 * fewer). Returns the next migration's fence row, its transaction then open; undefined without
 * `next`. When that round trip fails, the ledger says whether this migration's COMMIT went through
 * (the session holds the job lock: nobody else records it meanwhile): if not, the error is this
 * migration's; if so, only the next fence failed, and the next migration fences on its own.
 */
export async function commitRecorded(
  session: Session,
  step: Step,
  record: string,
  next?: Step,
): Promise<FenceRow | undefined> {
  const { client, location, signal } = session.options;
  if (!next || !opensOwnTransaction(session, next) || signal.aborted) {
    await client.query(`${record};\nCOMMIT`);
    markTransaction(session.runner, false);
    return undefined;
  }
  const [lock, check] = fenceStatements(location, session.keys, next.source.name);
  try {
    const results = (await client.query(
      `${record};\nCOMMIT;\nBEGIN;\n${lock};\n${check}`,
    )) as unknown as QueryResult<FenceRow>[];
    return results[4].rows[0];
  } catch (error) {
    if (session.lost() !== undefined || isConnectionLoss(error)) throw error;
    let committed: boolean;
    try {
      await client.query('ROLLBACK');
      markTransaction(session.runner, false);
      const own = fenceStatements(location, session.keys, step.source.name)[1];
      committed = !stillToDo((await client.query<FenceRow>(own)).rows[0], step);
    } catch {
      throw error;
    }
    if (!committed) throw error;
    return undefined;
  }
}

/**
 * Tells TypeORM's runner that preflight opened (or ended) a top-level transaction on its session:
 * the two fields PostgresQueryRunner.startTransaction / commitTransaction keep, so
 * `isTransactionActive` holds, a nested startTransaction in a migration takes a SAVEPOINT, and
 * rollbackTransaction sends ROLLBACK. (A test checks this against the installed TypeORM.)
 */
function markTransaction(runner: QueryRunner, open: boolean): void {
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
