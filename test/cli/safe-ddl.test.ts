import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { freshDatabase, preflightEnv, runCli, spawnCli } from '../support/context';
import { failureLines, migrationsDir, platformMigrationNames, recordedMigrations } from './helpers';

const library = JSON.stringify(path.resolve(__dirname, '../../src/index.js'));

async function connected(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

test('DDL behind a long transaction times out and retries, never blocking readers much longer than the lock timeout, and succeeds once the blocker ends', async () => {
  const db = await freshDatabase();
  const blocker = await connected(db.url);
  const reader = await connected(db.url);
  try {
    const dir = migrationsDir({
      Accounts1800000000001: {
        up: `await queryRunner.query('CREATE TABLE accounts (id int)'); await queryRunner.query('INSERT INTO accounts SELECT generate_series(1, 1000)');`,
      },
    });
    const env = {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: dir,
      PREFLIGHT_DDL_LOCK_TIMEOUT: '500ms',
      PREFLIGHT_DDL_RETRIES: '10',
    };
    assert.equal((await runCli(['run'], env)).code, 0);

    await blocker.query('BEGIN');
    await blocker.query('SELECT count(*) FROM accounts');
    const more = migrationsDir({
      Accounts1800000000001: {
        up: `await queryRunner.query('CREATE TABLE accounts (id int)'); await queryRunner.query('INSERT INTO accounts SELECT generate_series(1, 1000)');`,
      },
      Note1800000000002: { up: `await queryRunner.query('ALTER TABLE accounts ADD COLUMN note text');` },
    });
    let lockTimeouts = 0;
    const { result } = spawnCli(
      ['run'],
      { ...env, PREFLIGHT_MIGRATIONS: more },
      {
        onSpawn: (child) =>
          child.stdout?.on(
            'data',
            (chunk: Buffer) => (lockTimeouts += chunk.toString().split('migration.lock_timeout').length - 1),
          ),
      },
    );
    // Read continuously while the migration waits behind the blocker and times out at least twice.
    let slowestReadMs = 0;
    const giveUpAt = Date.now() + 30_000;
    while (lockTimeouts < 2 && Date.now() < giveUpAt) {
      const started = performance.now();
      await reader.query('SELECT count(*) FROM accounts');
      slowestReadMs = Math.max(slowestReadMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await blocker.query('COMMIT');
    const outcome = await result;
    assert.equal(outcome.code, 0, outcome.stdout);
    assert.ok(
      outcome.lines.filter((line) => line.event === 'migration.lock_timeout').length >= 2,
      'retried while the blocker held its lock',
    );
    assert.ok(
      slowestReadMs < 500 + 400,
      `a read waited ${Math.round(slowestReadMs)}ms behind the migration (lock timeout 500ms)`,
    );
    assert.deepEqual(
      await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`,
      ),
      [{ column_name: 'note' }],
    );
  } finally {
    await Promise.all([blocker.end(), reader.end(), db.close()]);
  }
});

test('when the DDL lock retries run out the job exits 75, recording nothing', async () => {
  const db = await freshDatabase();
  const blocker = await connected(db.url);
  try {
    await db.query('CREATE TABLE accounts (id int)');
    await blocker.query('BEGIN');
    await blocker.query('SELECT count(*) FROM accounts');
    const dir = migrationsDir({
      Note1800000000002: { up: `await queryRunner.query('ALTER TABLE accounts ADD COLUMN note text');` },
    });
    const env = {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: dir,
      PREFLIGHT_DDL_LOCK_TIMEOUT: '200ms',
      PREFLIGHT_DDL_RETRIES: '1',
    };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 75, result.stdout);
    assert.match(
      String(failureLines(result.lines)[0].message),
      /migration Note1800000000002 could not take its locks within 200ms in 2 attempts/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await blocker.query('ROLLBACK');
    await Promise.all([blocker.end(), db.close()]);
  }
});

test('CREATE INDEX CONCURRENTLY succeeds while other instances wait for the job lock (no deadlock)', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Events1800000000001: {
        up: `await queryRunner.query('CREATE TABLE events (id int, at timestamptz)'); await queryRunner.query('INSERT INTO events SELECT g, now() FROM generate_series(1, 200000) g');`,
      },
      EventsAt1800000000002: {
        up: `await queryRunner.query('CREATE INDEX CONCURRENTLY ix_events_at ON events (at)');`,
        transaction: false,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['run'], env, { timeoutMs: 60_000 })));
    assert.deepEqual(
      results.map((result) => result.code),
      [0, 0, 0, 0],
    );
    assert.deepEqual(await recordedMigrations(db), ['Events1800000000001', 'EventsAt1800000000002']);
    assert.deepEqual(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_events_at'::regclass`), [
      { indisvalid: true },
    ]);
  } finally {
    await db.close();
  }
});

test('an INVALID index left by a failed CREATE INDEX CONCURRENTLY is reported, and dropInvalidIndex lets the migration rebuild it', async () => {
  const db = await freshDatabase();
  try {
    await db.query('CREATE TABLE tags (name text)');
    await db.query(`INSERT INTO tags VALUES ('a'), ('a')`);
    await assert.rejects(db.query('CREATE UNIQUE INDEX CONCURRENTLY ux_tags_name ON tags (name)'));
    await db.query(`DELETE FROM tags WHERE ctid = (SELECT max(ctid) FROM tags)`);
    const dir = migrationsDir({
      TagsUnique1800000000001: {
        up: `const { dropInvalidIndex } = require(${library});
             await dropInvalidIndex(queryRunner, 'ux_tags_name');
             await queryRunner.query('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_tags_name ON tags (name)');`,
        transaction: false,
      },
    });
    const result = await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir });
    assert.equal(result.code, 0, result.stdout);
    const warning = result.lines.find((line) => line.event === 'migration.invalid_indexes');
    assert.deepEqual(warning?.indexes, ['public.ux_tags_name']);
    assert.deepEqual(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'ux_tags_name'::regclass`), [
      { indisvalid: true },
    ]);
  } finally {
    await db.close();
  }
});

test("a database migrated by TypeORM's own runner is adopted: nothing re-runs, checksums are recorded", async () => {
  const db = await freshDatabase();
  try {
    const dataSource = new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: [path.resolve(__dirname, '../../migrations/*.js')],
      logging: false,
    });
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    await dataSource.destroy();
    const result = await runCli(['run'], await preflightEnv({ db }));
    assert.equal(result.code, 0, result.stdout);
    assert.equal(result.lines.filter((line) => line.event === 'migration.applied').length, 0);
    assert.deepEqual(
      result.lines.filter((line) => line.event === 'migration.adopted').map((line) => line.name),
      platformMigrationNames(),
    );
    assert.deepEqual(
      (await db.query('SELECT name FROM preflight_migrations WHERE adopted ORDER BY name')).map((row) => row.name),
      [...platformMigrationNames()].sort(),
    );
    assert.equal((await runCli(['verify'], await preflightEnv({ db }))).code, 0);
  } finally {
    await db.close();
  }
});

test('a migration running longer than 10 s logs a heartbeat with what its backend waits on', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ Slow1800000000001: { up: `await queryRunner.query('SELECT pg_sleep(10.5)');` } });
    const result = await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir });
    assert.equal(result.code, 0);
    const beat = result.lines.find((line) => line.event === 'migration.running');
    assert.ok(beat, result.stdout);
    assert.equal(beat.name, 'Slow1800000000001');
    assert.ok(Number(beat.elapsedMs) >= 10_000);
    assert.equal(beat.waiting, 'Timeout:PgSleep');
  } finally {
    await db.close();
  }
});
