/**
 * The executor's own transactions (issue 15: BEGIN sent with the fence, the records with COMMIT):
 * names that need quoting end up recorded exactly, TypeORM's runner still sees the transaction
 * (nested transactions are savepoints), and a project with subscribers keeps TypeORM's events.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';

const typeorm = JSON.stringify(require.resolve('typeorm'));
const awkwardName = 'O\'Brien \\ "x" $1 ☃ 1700000000001';

test('migrations whose names need quoting are recorded, reverted and re-applied exactly; TypeORM sees the transaction preflight opened', async () => {
  const db = await freshDatabase();
  try {
    const dir = tempDir('preflight-migrations-');
    fs.writeFileSync(
      path.join(dir, '1700000000001-Awkward.js'),
      `exports.Awkward1700000000001 = class Awkward1700000000001 {
  name = ${JSON.stringify(awkwardName)};
  async up(q) {
    await q.query('CREATE TABLE seen (active boolean)');
    await q.query('INSERT INTO seen VALUES ($1)', [q.isTransactionActive]);
    await q.startTransaction();
    await q.query('INSERT INTO seen VALUES (NULL)');
    await q.rollbackTransaction();
    await q.startTransaction();
    await q.query('INSERT INTO seen VALUES (false)');
    await q.commitTransaction();
  }
  async down(q) { await q.query('DROP TABLE seen'); }
};\n`,
    );
    fs.writeFileSync(
      path.join(dir, '1700000000002-Plain.js'),
      `exports.Plain1700000000002 = class Plain1700000000002 {
  async up(q) { await q.query('CREATE TABLE plain (id int)'); }
  async down(q) { await q.query('DROP TABLE plain'); }
};\n`,
    );
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const first = await runCli(['run'], env);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(await db.query('SELECT active FROM seen'), [{ active: true }, { active: false }]);
    assert.deepEqual(await db.query('SELECT "timestamp"::text, name FROM migrations ORDER BY id'), [
      { timestamp: '1700000000001', name: awkwardName },
      { timestamp: '1700000000002', name: 'Plain1700000000002' },
    ]);
    assert.deepEqual(await db.query('SELECT name, state FROM preflight_migrations ORDER BY name'), [
      { name: awkwardName, state: 'applied' },
      { name: 'Plain1700000000002', state: 'applied' },
    ]);
    assert.equal((await runCli(['verify'], env)).code, 0);

    const down = await runCli(['down', '2', '--yes'], env);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.deepEqual(await db.query('SELECT name FROM migrations'), []);
    assert.deepEqual(await db.query('SELECT name FROM preflight_migrations'), []);
    assert.deepEqual(await db.query(`SELECT to_regclass('seen') AS seen, to_regclass('plain') AS plain`), [
      { seen: null, plain: null },
    ]);

    const again = await runCli(['run'], env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await db.query('SELECT name FROM migrations ORDER BY id'), [
      { name: awkwardName },
      { name: 'Plain1700000000002' },
    ]);
  } finally {
    await db.close();
  }
});

test("a project with subscribers: each migration's transaction goes through TypeORM, whose transaction events they receive", async () => {
  const db = await freshDatabase();
  try {
    const root = tempDir('preflight-project-');
    const events = path.join(root, 'events.log');
    fs.mkdirSync(path.join(root, 'migrations'));
    for (const [index, table] of [
      [1, 'one'],
      [2, 'two'],
    ] as const) {
      fs.writeFileSync(
        path.join(root, 'migrations', `180000000000${index}-Make.js`),
        `exports.Make${table}180000000000${index} = class Make${table}180000000000${index} {
  async up(q) { await q.query('CREATE TABLE ${table} (id int)'); }
  async down(q) { await q.query('DROP TABLE ${table}'); }
};\n`,
      );
    }
    fs.writeFileSync(
      path.join(root, 'data-source.js'),
      `const fs = require('node:fs');
const { DataSource, EventSubscriber } = require(${typeorm});
const note = (what) => fs.appendFileSync(${JSON.stringify(events)}, what + '\\n');
class TransactionLog {
  beforeTransactionStart() { note('start'); }
  afterTransactionCommit() { note('commit'); }
  afterTransactionRollback() { note('rollback'); }
}
EventSubscriber()(TransactionLog);
exports.AppDataSource = new DataSource({
  type: 'postgres',
  migrations: [__dirname + '/migrations/*.js'],
  subscribers: [TransactionLog],
});\n`,
    );
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_DATASOURCE: 'data-source.js' };
    const result = await runCli(['run'], env, { cwd: root });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(fs.readFileSync(events, 'utf8').trim().split('\n'), ['start', 'commit', 'start', 'commit']);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM preflight_migrations'))[0].n, 2);
  } finally {
    await db.close();
  }
});

test('a migration of 150 statements runs with one savepoint open at a time (each released with the next statement)', async () => {
  const db = await freshDatabase();
  try {
    const dir = tempDir('preflight-migrations-');
    fs.writeFileSync(
      path.join(dir, '1700000000001-Many.js'),
      `exports.Many1700000000001 = class Many1700000000001 {
  async up(q) {
    await q.query('CREATE TABLE many (n int)');
    for (let n = 0; n < 150; n++) await q.query(n % 2 ? 'INSERT INTO many VALUES ($1)' : 'INSERT INTO many VALUES (' + n + ')', n % 2 ? [n] : undefined);
    const [{ count }] = await q.query('SELECT count(*)::int AS count FROM many');
    if (count !== 150) throw new Error('saw ' + count + ' rows');
  }
  async down(q) { await q.query('DROP TABLE many'); }
};\n`,
    );
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(await db.query('SELECT count(*)::int AS count, sum(n)::int AS sum FROM many'), [
      { count: 150, sum: (149 * 150) / 2 },
    ]);
  } finally {
    await db.close();
  }
});
