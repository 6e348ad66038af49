import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { schemaSnapshot } from '../cli/generate-migrations';
import { platformMigrationNames, recordedMigrations } from '../cli/helpers';

const shippedSnapshot = path.resolve(__dirname, '../../../migrations/baseline.sql');

function coveredBy(file: string): string[] {
  const header = fs.readFileSync(file, 'utf8').split('\n')[0];
  return JSON.parse(header.replace('-- preflight baseline: ', '')).migrations;
}

test('the shipped snapshot covers every migration of this build (run preflight baseline after adding one)', () => {
  assert.deepEqual(
    coveredBy(shippedSnapshot),
    platformMigrationNames(),
    'migrations/baseline.sql is stale: run `preflight baseline` and commit it',
  );
});

test('a fresh database reaches head by the snapshot and by replay with identical schemas and records', async () => {
  const [bySnapshot, byReplay] = await Promise.all([freshDatabase(), freshDatabase()]);
  try {
    const snapshotRun = await runCli(['run'], await preflightEnv({ db: bySnapshot }));
    assert.equal(snapshotRun.code, 0, snapshotRun.stdout);
    const applied = snapshotRun.lines.find((line) => line.event === 'baseline.applied');
    assert.equal(applied?.migrations, platformMigrationNames().length);
    assert.equal(snapshotRun.lines.filter((line) => line.event === 'migration.applied').length, 0);

    const replayRun = await runCli(['run'], { ...(await preflightEnv({ db: byReplay })), PREFLIGHT_BASELINE: 'false' });
    assert.equal(replayRun.code, 0);
    assert.equal(
      replayRun.lines.filter((line) => line.event === 'migration.applied').length,
      platformMigrationNames().length,
    );

    assert.deepEqual(await schemaSnapshot(bySnapshot.query), await schemaSnapshot(byReplay.query));
    assert.deepEqual(await recordedMigrations(bySnapshot), await recordedMigrations(byReplay));
    const ledger = (db: typeof bySnapshot) => db.query('SELECT name, checksum FROM preflight_migrations ORDER BY name');
    assert.deepEqual(await ledger(bySnapshot), await ledger(byReplay));
    assert.equal((await runCli(['verify'], await preflightEnv({ db: bySnapshot }))).code, 0);
  } finally {
    await Promise.all([bySnapshot.close(), byReplay.close()]);
  }
});

test('a database that already holds tables never takes the snapshot', async () => {
  const db = await freshDatabase();
  try {
    await db.query('CREATE TABLE someone_elses (id int)');
    const result = await runCli(['run'], await preflightEnv({ db }));
    assert.equal(result.code, 0, result.stdout);
    assert.equal(
      result.lines.some((line) => line.event === 'baseline.applied'),
      false,
    );
    assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
  } finally {
    await db.close();
  }
});

test('preflight baseline writes a snapshot of every migration from a scratch database it drops afterwards', async () => {
  const db = await freshDatabase();
  try {
    const out = path.join(tempDir(), 'baseline.sql');
    const result = await runCli(['baseline', '--out', out], await preflightEnv({ db }));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(coveredBy(out), platformMigrationNames());
    assert.ok(!fs.readFileSync(out, 'utf8').includes('\\restrict'));
    assert.deepEqual(await db.query(`SELECT datname FROM pg_database WHERE datname LIKE 'preflight_baseline_%'`), []);
  } finally {
    await db.close();
  }
});
