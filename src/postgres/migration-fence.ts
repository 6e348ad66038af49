import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { PreflightError } from '../core/errors';
import { backendWait } from './backend';
import { fenceQuery, recordStarted } from './ledger';
import type { StatementGuard } from './migration-session';
import type { ExecutorOptions, Step } from './run-migrations';

/** The executor's view of one run: the session, the guard around the migrations' statements, a side connection. */
export interface Session {
  /** why the session died, once it did */
  lost(): string | undefined;
  runner: QueryRunner;
  guard: StatementGuard;
  pid: number;
  keys: [number, number];
  options: ExecutorOptions;
  /** a second connection, opened on demand, to watch or cancel the migration's backend */
  observer(): Promise<Client>;
}

/** Inside the migration's transaction: true when it is still to be done (up: unrecorded; down: recorded). */
export async function fence(session: Session, step: Step): Promise<boolean> {
  const { client, location } = session.options;
  const [row] = (
    await client.query<{ recorded: boolean; ledger_state: string | null }>(
      ...fenceQuery(location, session.keys, step.source.name),
    )
  ).rows;
  return step.direction === 'up' ? !row.recorded : row.recorded;
}

/**
 * Before a `transaction = false` migration: the fence in a short transaction of its own, which for
 * `up` also commits the `started` row, so no other instance starts it while it runs or after it died.
 */
export async function fenceOutside(session: Session, step: Step): Promise<boolean> {
  const { client, location, appliedBy, preflightVersion } = session.options;
  const { source } = step;
  await client.query('BEGIN');
  try {
    const [row] = (
      await client.query<{ recorded: boolean; ledger_state: string | null }>(
        ...fenceQuery(location, session.keys, source.name),
      )
    ).rows;
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
