import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, runCli, spawnCli, tempDir } from '../support/context';
import { appliedCount, failureLines, migrationsDir, platformMigrationNames, recordedMigrations } from './helpers';
import * as fs from 'node:fs';
import * as path from 'node:path';

test('a first run applies every migration and the fixtures; a second run applies nothing and writes nothing', async () => {
  const [db, etcd, redis] = await Promise.all([freshDatabase(), etcdNamespace(), redisDb()]);
  try {
    const reportFile = path.join(tempDir(), 'report.json');
    const env = {
      ...(await preflightEnv({ db, etcd, redis })),
      STORAGE_MOUNT: '/mnt/vfroot',
      PREFLIGHT_REPORT_FILE: reportFile,
    };
    const first = await runCli(['run'], env);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
    assert.equal(await etcd.client.get(`${etcd.namespace}/volumes/_mount`).string(), '/mnt/vfroot');
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    assert.equal(report.status, 'ok');
    assert.ok(Buffer.byteLength(fs.readFileSync(reportFile)) < 4096);
    assert.deepEqual(
      report.steps.map((step: { step: string }) => step.step),
      ['wait', 'check', 'lock', 'plan', 'backup', 'migrate', 'seed', 'fixtures'],
    );
    assert.equal(appliedCount(first.lines), platformMigrationNames().length);

    // Other test files write to the same etcd, so compare the revisions of this namespace's keys only.
    const namespaceRevisions = async () =>
      (await etcd.client.getAll().prefix(etcd.namespace).exec()).kvs
        .map((kv) => `${kv.key.toString()}@${kv.mod_revision}`)
        .sort();
    const revisionsBefore = await namespaceRevisions();
    assert.ok(revisionsBefore.length > 10);
    const second = await runCli(['run'], env);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(appliedCount(second.lines), 0);
    assert.deepEqual(await namespaceRevisions(), revisionsBefore, 'an unchanged fixture re-run must not write to etcd');
    const secondReport = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    assert.deepEqual(
      Object.fromEntries(secondReport.steps.map((step: { step: string; status: string }) => [step.step, step.status])),
      {
        wait: 'applied',
        check: 'applied',
        lock: 'applied',
        plan: 'applied',
        backup: 'skipped',
        migrate: 'unchanged',
        seed: 'skipped',
        fixtures: 'unchanged',
      },
    );
  } finally {
    await Promise.all([db.close(), etcd.close(), redis.close()]);
  }
});

for (const baseline of ['true', 'false']) {
  test(`eight instances started at once on a fresh database all exit 0 and apply every migration exactly once (PREFLIGHT_BASELINE=${baseline})`, async () => {
    const db = await freshDatabase();
    try {
      const env = { ...(await preflightEnv({ db })), PREFLIGHT_BASELINE: baseline };
      const results = await Promise.all(Array.from({ length: 8 }, () => runCli(['run'], env)));
      assert.deepEqual(
        results.map((result) => result.code),
        Array(8).fill(0),
        results.map((r) => r.stdout).join('\n'),
      );
      assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
      const applications = results.reduce((count, result) => count + appliedCount(result.lines), 0);
      assert.equal(applications, platformMigrationNames().length, 'each migration applied by exactly one instance');
      const waiters = results.filter((result) =>
        result.lines.some((line) => line.event === 'plan.ready' && line.pending === 0),
      );
      assert.equal(waiters.length, 7, 'the seven that waited re-planned and found nothing to do');
    } finally {
      await db.close();
    }
  });
}

test('a failing migration exits 70 naming it and the database error, rolls back and records nothing', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Good1800000000001: { up: `await queryRunner.query('CREATE TABLE good (id int)');` },
      Broken1800000000002: {
        up: `await queryRunner.query('CREATE TABLE half (id int)'); await queryRunner.query('SELECT * FROM no_such_table');`,
      },
      Later1800000000003: { up: `await queryRunner.query('CREATE TABLE later (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 70);
    const [failure] = failureLines(result.lines);
    assert.match(
      String(failure.message),
      /migration Broken1800000000002 failed: relation "no_such_table" does not exist/,
    );
    assert.deepEqual(await recordedMigrations(db), ['Good1800000000001']);
    const tables = (
      await db.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'preflight\\_%' ORDER BY 1`,
      )
    ).map((row) => row.tablename);
    assert.deepEqual(
      tables,
      ['good', 'migrations'],
      'the broken migration left nothing behind and the later one did not run',
    );
  } finally {
    await db.close();
  }
});

test('SIGTERM during a long migration exits 143, rolls it back and leaves no lock behind', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Slow1800000000001: {
        up: `await queryRunner.query('CREATE TABLE slow (id int)'); await queryRunner.query('SELECT pg_sleep(30)');`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    let killedAt = 0;
    const { result } = spawnCli(['run'], env, {
      onSpawn: (spawned) => {
        spawned.stdout?.on('data', (chunk: Buffer) => {
          if (!killedAt && chunk.toString().includes('migration.started')) {
            killedAt = Date.now();
            setTimeout(() => spawned.kill('SIGTERM'), 300);
          }
        });
      },
    });
    const outcome = await result;
    assert.equal(outcome.code, 143, outcome.stdout + outcome.stderr);
    assert.ok(Date.now() - killedAt < 5300, 'stopped within 5 seconds of the signal');
    assert.deepEqual(await recordedMigrations(db), []);
    assert.deepEqual(await db.query(`SELECT to_regclass('public.slow') AS found`), [{ found: null }]);
    assert.deepEqual(
      await db.query(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      ),
      [],
    );
  } finally {
    await db.close();
  }
});
