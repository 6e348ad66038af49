import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from 'pg';
import { StatementGuard } from '../../src/postgres/migration-session';
import type { Logger } from '../../src/log/logger';

/**
 * The SQL the guard sends inside a transaction (a recording client stands in for the session: this
 * is the text it builds; the executor tests run it on PostgreSQL): each statement's savepoint is
 * released with the next statement, so they never nest deeper than one, except after a statement
 * that names a savepoint itself (TypeORM's nested transactions).
 */
function recordingGuard(): { guard: StatementGuard; sent: string[] } {
  const sent: string[] = [];
  const client = {
    query: async (text: string) => {
      sent.push(text);
      const statements = text.split(';\n').length;
      const result = { command: 'SELECT', rows: [], rowCount: 0 };
      return statements === 1 ? result : Array.from({ length: statements }, () => result);
    },
  } as unknown as Client;
  const silent: Logger = { error() {}, warn() {}, info() {}, debug() {}, redact: (text) => text };
  const guard = new StatementGuard(client, {
    ddlRetries: 0,
    ddlLockTimeoutMs: 1000,
    signal: new AbortController().signal,
    log: silent,
  });
  guard.inTransaction = () => true;
  guard.active = true;
  return { guard, sent };
}

test('inside a transaction, each statement releases the savepoint of the one before it', async () => {
  const { guard, sent } = recordingGuard();
  const session = guard.connection();
  for (let index = 0; index < 100; index++) await session.query(`CREATE TABLE t${index} (id int)`);
  await session.query('INSERT INTO t0 VALUES ($1)', [1]);
  assert.equal(sent[0], 'SAVEPOINT preflight_statement;\nCREATE TABLE t0 (id int)');
  assert.equal(
    sent[1],
    'RELEASE SAVEPOINT preflight_statement;\nSAVEPOINT preflight_statement;\nCREATE TABLE t1 (id int)',
  );
  assert.equal(
    sent[99],
    'RELEASE SAVEPOINT preflight_statement;\nSAVEPOINT preflight_statement;\nCREATE TABLE t99 (id int)',
  );
  // a statement with parameters: its savepoint goes first, in a round trip of its own
  assert.deepEqual(sent.slice(100), [
    'RELEASE SAVEPOINT preflight_statement;\nSAVEPOINT preflight_statement',
    'INSERT INTO t0 VALUES ($1)',
  ]);
  const created = sent.join('\n').match(/^SAVEPOINT preflight_statement;?$/gm)?.length ?? 0;
  const released = sent.join('\n').match(/^RELEASE SAVEPOINT preflight_statement;?$/gm)?.length ?? 0;
  assert.equal(created - released, 1, 'one savepoint open at the end, not 101');
});

test("after a statement that names a savepoint (TypeORM's nested transaction) nothing is released", async () => {
  const { guard, sent } = recordingGuard();
  const session = guard.connection();
  await session.query('CREATE TABLE a (id int)');
  await session.query('SAVEPOINT typeorm_1');
  await session.query('INSERT INTO a VALUES (1)');
  await session.query('ROLLBACK TO SAVEPOINT typeorm_1');
  await session.query('INSERT INTO a VALUES (2)');
  assert.deepEqual(sent, [
    'SAVEPOINT preflight_statement;\nCREATE TABLE a (id int)',
    'RELEASE SAVEPOINT preflight_statement;\nSAVEPOINT preflight_statement;\nSAVEPOINT typeorm_1',
    'SAVEPOINT preflight_statement;\nINSERT INTO a VALUES (1)',
    'RELEASE SAVEPOINT preflight_statement;\nSAVEPOINT preflight_statement;\nROLLBACK TO SAVEPOINT typeorm_1',
    'SAVEPOINT preflight_statement;\nINSERT INTO a VALUES (2)',
  ]);
  guard.releasable = false; // what the executor does when the next migration's transaction begins
  await session.query('SELECT 1');
  assert.equal(sent.at(-1), 'SAVEPOINT preflight_statement;\nSELECT 1');
});
