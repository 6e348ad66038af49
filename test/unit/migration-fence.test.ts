/**
 * commitRecorded: a migration's records, its COMMIT, and the next migration's BEGIN and fence in one
 * round trip; when that round trip fails, the ledger decides whose failure it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { ensureLedger, recordApplied } from '../../src/postgres/ledger';
import { commitRecorded, type Session } from '../../src/postgres/migration-fence';
import { ensureMigrationsTable } from '../../src/postgres/migrations-table';
import type { Step } from '../../src/postgres/run-migrations';
import { freshDatabase } from '../support/context';

const location = { schema: 'public', table: 'migrations' };

function step(name: string): Step {
  const source = { name, timestamp: Number(name.slice(-13)), checksum: 'c'.repeat(64) };
  return { source, migration: { up: async () => undefined }, direction: 'up' } as unknown as Step;
}

function record(of: Step): string {
  const { source } = of;
  return recordApplied(location, { ...source, durationMs: 1, appliedBy: 'test', preflightVersion: '0' }, false);
}

async function withSession(keys: [number, number], body: (session: Session, client: Client) => Promise<void>) {
  const db = await freshDatabase();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    await ensureMigrationsTable(client, location);
    await ensureLedger(client, location);
    const runner = { isTransactionActive: true, transactionDepth: 1 } as unknown as QueryRunner;
    const session = {
      lost: () => undefined,
      runner,
      ownTransactions: true,
      keys,
      options: { client, location, transactionMode: 'each', signal: new AbortController().signal },
    } as unknown as Session;
    await body(session, client);
  } finally {
    await client.end();
    await db.close();
  }
}

const inTransaction = async (client: Client) =>
  (await client.query<{ open: boolean }>(`SELECT now() <> statement_timestamp() AS open`)).rows[0].open;

test('the COMMIT carries the next BEGIN and fence: the first migration is recorded, the next one fenced in an open transaction', async () => {
  await withSession([1, 2], async (session, client) => {
    const [one, two] = [step("One's1700000000001"), step('Two1700000000002')];
    await client.query('BEGIN');
    const next = await commitRecorded(session, one, record(one), two);
    assert.deepEqual(next, { recorded: false, ledger_state: null });
    assert.equal(session.runner.isTransactionActive, true);
    assert.equal(await inTransaction(client), true, "the next migration's transaction is open");
    await client.query('ROLLBACK');
    const rows = await client.query('SELECT name FROM migrations');
    assert.deepEqual(rows.rows, [{ name: "One's1700000000001" }]);
  });
});

test("a failing fence after the COMMIT is not the migration's failure: it stays applied, no transaction is left open", async () => {
  // a key outside int4: pg_advisory_xact_lock(bigint, integer) does not exist, so only the chained fence fails
  await withSession([2 ** 31, 2], async (session, client) => {
    const [one, two] = [step('One1700000000001'), step('Two1700000000002')];
    await client.query('BEGIN');
    assert.equal(await commitRecorded(session, one, record(one), two), undefined);
    assert.equal(session.runner.isTransactionActive, false);
    assert.equal(await inTransaction(client), false);
    const names = await client.query(
      'SELECT m.name, l.state FROM migrations m JOIN preflight_migrations l USING (name)',
    );
    assert.deepEqual(names.rows, [{ name: 'One1700000000001', state: 'applied' }]);
  });
});

test('a failing record fails the migration: nothing of it committed', async () => {
  await withSession([1, 2], async (session, client) => {
    const [one, two] = [step('One1700000000001'), step('Two1700000000002')];
    await client.query('BEGIN');
    await client.query('CREATE TABLE made_by_one (id int)');
    await assert.rejects(commitRecorded(session, one, `${record(one)}; SELECT 1 / 0`, two), /division by zero/);
    await client.query('ROLLBACK');
    assert.deepEqual((await client.query('SELECT name FROM migrations')).rows, []);
    assert.deepEqual((await client.query(`SELECT to_regclass('made_by_one') AS t`)).rows, [{ t: null }]);
  });
});
