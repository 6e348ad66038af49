import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataSource } from 'typeorm';
import { freshDatabase, preflightEnv, runCli } from '../support/context';
import { failureLines, migrationsDir, platformMigrationNames, recordedMigrations } from './helpers';
import * as path from 'node:path';

const threeMigrations = () =>
  migrationsDir({
    First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
    Second1800000000002: { up: `await queryRunner.query('CREATE TABLE second (id int)');` },
    Broken1800000000003: {
      up: `await queryRunner.query('CREATE TABLE third (id int)'); await queryRunner.query('SELECT 1/0');`,
    },
  });

async function publicTables(db: { query(sql: string): Promise<Array<Record<string, unknown>>> }): Promise<string[]> {
  return (
    await db.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'preflight\\_%' ORDER BY 1`,
    )
  ).map((row) => String(row.tablename));
}

test('PREFLIGHT_TRANSACTION=all rolls back every migration of the run when one fails', async () => {
  const db = await freshDatabase();
  try {
    const result = await runCli(['run'], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: threeMigrations(),
      PREFLIGHT_TRANSACTION: 'all',
    });
    assert.equal(result.code, 70);
    assert.match(
      String(failureLines(result.lines)[0].message),
      /migration Broken1800000000003 failed: division by zero/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
    assert.deepEqual(await publicTables(db), ['migrations']);
  } finally {
    await db.close();
  }
});

test('PREFLIGHT_TRANSACTION=none keeps what the failing migration did before it failed, and records only the ones that finished', async () => {
  const db = await freshDatabase();
  try {
    const result = await runCli(['run'], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: threeMigrations(),
      PREFLIGHT_TRANSACTION: 'none',
    });
    assert.equal(result.code, 70);
    assert.match(String(failureLines(result.lines)[0].message), /ran outside a transaction/);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002']);
    assert.deepEqual(await publicTables(db), ['first', 'migrations', 'second', 'third']);
  } finally {
    await db.close();
  }
});

test('a migration with transaction = false runs outside a transaction, so CREATE INDEX CONCURRENTLY works', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Table1800000000001: { up: `await queryRunner.query('CREATE TABLE items (id int, at timestamptz)');` },
      Index1800000000002: {
        up: `await queryRunner.query('CREATE INDEX CONCURRENTLY ix_items_at ON items (at)');`,
        transaction: false,
      },
    });
    const result = await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir });
    assert.equal(result.code, 0, result.stdout);
    assert.deepEqual(await recordedMigrations(db), ['Table1800000000001', 'Index1800000000002']);
    const [index] = await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_items_at'::regclass`);
    assert.equal(index.indisvalid, true);
    const all = await runCli(['run'], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: dir,
      PREFLIGHT_TRANSACTION: 'all',
    });
    assert.equal(all.code, 0, 'nothing pending, so the contradiction does not matter');
  } finally {
    await db.close();
  }
});

test('transaction = false under PREFLIGHT_TRANSACTION=all is refused with 65 before anything runs', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Index1800000000002: { up: `await queryRunner.query('SELECT 1');`, transaction: false },
    });
    const result = await runCli(['run'], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: dir,
      PREFLIGHT_TRANSACTION: 'all',
    });
    assert.equal(result.code, 65);
    assert.match(
      String(failureLines(result.lines)[0].message),
      /Index1800000000002 sets transaction = false.*PREFLIGHT_TRANSACTION=each/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test("TypeORM's own migration runner agrees with what preflight recorded", async () => {
  const db = await freshDatabase();
  try {
    assert.equal((await runCli(['run'], await preflightEnv({ db }))).code, 0);
    const dataSource = new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: [path.resolve(__dirname, '../../migrations/*.js')],
      logging: false,
    });
    await dataSource.initialize();
    try {
      assert.equal(await dataSource.showMigrations(), false, 'TypeORM sees no pending migration');
      assert.deepEqual(await dataSource.runMigrations(), []);
    } finally {
      await dataSource.destroy();
    }
    assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
  } finally {
    await db.close();
  }
});

test('status and verify exit 3 while work is pending, 0 at head, 65 when the database knows a migration the build does not', async () => {
  const db = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    const pending = await runCli(['status', '--json'], env);
    assert.equal(pending.code, 3);
    assert.deepEqual(JSON.parse(pending.stdout).pending, platformMigrationNames());
    assert.equal((await runCli(['verify'], env)).code, 3);
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.equal((await runCli(['verify'], env)).code, 0);
    const upToDate = await runCli(['status', '--json'], env);
    assert.equal(upToDate.code, 0);
    assert.equal(JSON.parse(upToDate.stdout).state, 'up-to-date');
    await db.query(`INSERT INTO migrations ("timestamp", "name") VALUES (1900000000000, 'FromTheFuture1900000000000')`);
    const ahead = await runCli(['status', '--json'], env);
    assert.equal(ahead.code, 65, ahead.stdout + ahead.stderr);
    assert.deepEqual(JSON.parse(ahead.stdout).unknown, ['FromTheFuture1900000000000']);
    assert.equal((await runCli(['verify'], env)).code, 65);
  } finally {
    await db.close();
  }
});
