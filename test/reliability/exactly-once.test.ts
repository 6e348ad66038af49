/**
 * Exactly once and never half-applied (issue 11): the lock session lost mid-migration (repro 1), a
 * lock timeout inside a `transaction = false` migration (repro 2), partial migrations and
 * `preflight repair`, duplicate records, checksum acceptance, a migrations table named `mig$1`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { migrationsDir, recordedMigrations } from '../cli/helpers';
import { freshDatabase, preflightEnv, runCli, spawnCli, type TestDatabase } from '../support/context';
import { eventOf, onlyFailure } from './support';

async function connected(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Resolves once a line of the child's stdout contains `text`. */
function stdoutContains(child: { stdout: NodeJS.ReadableStream | null }, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
  });
}

/** The pid holding an advisory lock on the test's database, once one does. */
async function advisoryHolder(db: TestDatabase): Promise<number> {
  for (;;) {
    const rows = await db.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    if (rows.length > 0) return Number(rows[0].pid);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function assertNoAdvisoryLock(db: TestDatabase): Promise<void> {
  const rows = await db.query(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  assert.deepEqual(rows, [], 'an advisory lock is left');
}

test('repro 1: the lock session terminated while a migration runs, a second instance started after the cut: the migration is applied exactly once, the first instance exits 75', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Table1700000000001: { up: `await queryRunner.query('CREATE TABLE credits (id serial, amount int)');` },
      Grant1700000000002: {
        up: `await queryRunner.query('INSERT INTO credits(amount) VALUES (100)'); await queryRunner.query('SELECT pg_sleep(5)');`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const first = spawnCli(['run'], env);
    await stdoutContains(first.child, '"name":"Grant1700000000002"');
    const holder = await advisoryHolder(db);
    await db.query('SELECT pg_terminate_backend($1)', [holder]);
    const second = await runCli(['run'], env);
    const lost = await first.result;
    assert.equal(lost.code, 75, lost.stdout + lost.stderr);
    assert.match(
      onlyFailure(lost),
      /^connection lost: the PostgreSQL session holding the job lock ended during migration Grant1700000000002 .*a re-run is safe$/,
    );
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(await db.query('SELECT amount FROM credits'), [{ amount: 100 }]);
    assert.deepEqual(await recordedMigrations(db), ['Table1700000000001', 'Grant1700000000002']);
    await assertNoAdvisoryLock(db);
    assert.equal((await runCli(['run'], env)).code, 0);
  } finally {
    await db.close();
  }
});

/**
 * Repro 2 and its transactional twin: a lock timeout retries only the statement that hit it (outside a
 * transaction: issued again; inside one: ROLLBACK TO SAVEPOINT), so the INSERT before it runs once.
 */
for (const transactional of [false, true]) {
  const title = transactional
    ? 'a lock timeout inside a transaction retries only the statement (ROLLBACK TO SAVEPOINT): the INSERT before it is kept once'
    : 'repro 2: a lock timeout in a transaction = false migration retries only that statement: the INSERT before it runs once';
  test(title, async () => {
    const db = await freshDatabase();
    const blocker = await connected(db.url);
    try {
      await db.query('CREATE TABLE audit (note text); CREATE TABLE hot (id int)');
      const dir = migrationsDir({
        Hot1700000000001: {
          transaction: transactional ? undefined : false,
          up: `await queryRunner.query("INSERT INTO audit(note) VALUES ($1)", ['step one']); await queryRunner.query('ALTER TABLE hot ADD COLUMN x int');`,
        },
      });
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE hot IN ACCESS SHARE MODE');
      const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_DDL_LOCK_TIMEOUT: '300ms' };
      const { child, result } = spawnCli(['run'], env);
      await stdoutContains(child, 'migration.lock_timeout');
      await blocker.query('COMMIT');
      const outcome = await result;
      assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
      assert.match(String(eventOf(outcome, 'migration.lock_timeout')?.statement), /^ALTER TABLE hot/);
      assert.deepEqual(await db.query('SELECT note FROM audit'), [{ note: 'step one' }]);
      assert.deepEqual(await recordedMigrations(db), ['Hot1700000000001']);
      assert.deepEqual(await db.query(`SELECT state FROM preflight_migrations`), [{ state: 'applied' }]);
    } finally {
      await blocker.end();
      await db.close();
    }
  });
}

test('a transaction = false migration failing half-way is recorded partial (70 naming it and the last statement), later runs refuse (65) until preflight repair', async () => {
  const db = await freshDatabase();
  try {
    await db.query('CREATE TABLE audit (note text)');
    const body = {
      transaction: false,
      up: `await queryRunner.query("INSERT INTO audit(note) VALUES ('one')"); await queryRunner.query('SELECT * FROM missing_table');`,
    };
    const dir = migrationsDir({ Half1700000000001: body });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const failed = await runCli(['run'], env);
    assert.equal(failed.code, 70, failed.stdout + failed.stderr);
    assert.match(
      onlyFailure(failed),
      /^migration Half1700000000001 ran outside a transaction and stopped after 1 of its statements committed \(last that succeeded: INSERT INTO audit\(note\) VALUES \('one'\)\).*preflight repair Half1700000000001 --applied or --rolled-back$/,
    );
    assert.deepEqual(await db.query(`SELECT state, statements_done FROM preflight_migrations`), [
      { state: 'partial', statements_done: 1 },
    ]);

    const again = await runCli(['run'], env);
    assert.equal(again.code, 65, again.stdout);
    assert.match(onlyFailure(again), /^migration Half1700000000001 is partial .*preflight repair Half1700000000001/);
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM audit'), [{ n: 1 }], 'nothing ran again');
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 65);
    assert.deepEqual(JSON.parse(status.stdout).partial, ['Half1700000000001']);
    assert.equal((await runCli(['verify'], env)).code, 65);

    const usage = await runCli(['repair', 'Half1700000000001'], env);
    assert.equal(usage.code, 2, usage.stdout);
    const wrongName = await runCli(['repair', 'Other1700000000009', '--applied'], env);
    assert.equal(wrongName.code, 65, wrongName.stdout);

    // The operator finished it by hand, and says so.
    const repaired = await runCli(['repair', 'Half1700000000001', '--applied'], env);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /Half1700000000001: recorded as applied/);
    const [record] = await db.query('SELECT name, action, repaired_by, repaired_at FROM preflight_migrations_repairs');
    assert.equal(record.action, 'applied');
    assert.match(String(record.repaired_by), /@/);
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.deepEqual(await recordedMigrations(db), ['Half1700000000001']);
    assert.equal((await runCli(['verify'], env)).code, 0);
  } finally {
    await db.close();
  }
});

test('repair --rolled-back: the partial migration is forgotten and the next run applies it from its first statement', async () => {
  const db = await freshDatabase();
  try {
    await db.query('CREATE TABLE audit (note text)');
    const dir = migrationsDir({
      Half1700000000001: {
        transaction: false,
        up: `await queryRunner.query("INSERT INTO audit(note) VALUES ('one')"); await queryRunner.query('SELECT * FROM gate');`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 70);
    await db.query('DELETE FROM audit; CREATE TABLE gate (id int)');
    const repaired = await runCli(['repair', 'Half1700000000001', '--rolled-back'], env);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    const rerun = await runCli(['run'], env);
    assert.equal(rerun.code, 0, rerun.stdout);
    assert.deepEqual(await db.query('SELECT note FROM audit'), [{ note: 'one' }]);
    assert.deepEqual(await db.query('SELECT action FROM preflight_migrations_repairs'), [{ action: 'rolled-back' }]);
  } finally {
    await db.close();
  }
});

test('a migration recorded twice is detected: status, verify and run exit 65 naming it', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ One1700000000001: { up: `await queryRunner.query('CREATE TABLE one (id int)');` } });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    await db.query(`INSERT INTO migrations ("timestamp", name) VALUES (1700000000001, 'One1700000000001')`);
    for (const command of ['status', 'verify', 'run']) {
      const result = await runCli([command], env);
      assert.equal(result.code, 65, `${command}: ${result.stdout}`);
      assert.match(result.stdout, /One1700000000001 is recorded more than once/);
    }
  } finally {
    await db.close();
  }
});

test('repair --accept-checksum records the new checksum of an edited migration (old and new), after which run and verify pass', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ One1700000000001: { up: `await queryRunner.query('CREATE TABLE one (id int)');` } });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    const file = path.join(dir, '1700000000001-One.js');
    fs.appendFileSync(file, '// reformatted by a new toolchain\n');
    assert.equal((await runCli(['run'], env)).code, 65);
    const accepted = await runCli(['repair', '--accept-checksum', '--all'], env);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
    assert.match(accepted.stdout, /^One1700000000001: checksum [0-9a-f]{12} → [0-9a-f]{12}$/m);
    const [record] = await db.query('SELECT old_checksum, new_checksum FROM preflight_migrations_repairs');
    assert.notEqual(record.old_checksum, record.new_checksum);
    assert.equal((await runCli(['verify'], env)).code, 0);
    const again = await runCli(['repair', '--accept-checksum', 'One1700000000001'], env);
    assert.equal(again.code, 65, 'nothing to accept any more');
  } finally {
    await db.close();
  }
});

test('PREFLIGHT_MIGRATIONS_TABLE=mig$1: placeholders inside the quoted name are left alone', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ One1700000000001: { up: `await queryRunner.query('CREATE TABLE one (id int)');` } });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_MIGRATIONS_TABLE: 'mig$1' };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(await db.query('SELECT name FROM "mig$1"'), [{ name: 'One1700000000001' }]);
    assert.deepEqual(await db.query('SELECT name FROM "preflight_mig$1"'), [{ name: 'One1700000000001' }]);
  } finally {
    await db.close();
  }
});

test('a ledger written by an older preflight (no state columns) is upgraded on the next run with work', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      One1700000000001: { up: `await queryRunner.query('CREATE TABLE one (id int)');` },
      Two1700000000002: { up: `await queryRunner.query('CREATE TABLE two (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    await db.query(`DELETE FROM migrations WHERE name = 'Two1700000000002'; DROP TABLE two;
      DELETE FROM preflight_migrations WHERE name = 'Two1700000000002';
      ALTER TABLE preflight_migrations DROP COLUMN state, DROP COLUMN statements_done, DROP COLUMN last_statement`);
    assert.equal((await runCli(['status'], env)).code, 3, 'an old ledger is read as it is');
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(await db.query(`SELECT name, state FROM preflight_migrations ORDER BY name`), [
      { name: 'One1700000000001', state: 'applied' },
      { name: 'Two1700000000002', state: 'applied' },
    ]);
  } finally {
    await db.close();
  }
});
