/**
 * Concurrency stress (issue 6, reliability item 2): rounds of ten instances started at once on a
 * fresh database, etcd namespace and Redis database, with the platform's migrations and fixtures.
 * Every instance exits 0; across all instances each migration is applied exactly once (by the
 * baseline snapshot, which covers them, in odd rounds; replayed one by one with
 * PREFLIGHT_BASELINE=false in even rounds) and each fixture file written exactly once; TypeORM's
 * table and preflight's ledger hold each name once.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, runCli } from '../support/context';
import { platformMigrations, repoRoot } from './support';

const rounds = 4;
const instances = 10;

test(`${rounds} rounds of ${instances} simultaneous instances: zero non-zero exits, zero duplicate applications`, async (t) => {
  const names = platformMigrations();
  const fixtureFiles = fs
    .readdirSync(path.join(repoRoot, 'fixtures', 'etcd'))
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
  assert.ok(names.length > 0 && fixtureFiles.length > 0);
  for (let round = 1; round <= rounds; round++) {
    const baseline = round % 2 === 1;
    await t.test(`round ${round} (${baseline ? 'baseline snapshot' : 'replaying every migration'})`, async () => {
      const [db, etcd, redis] = await Promise.all([freshDatabase(), etcdNamespace(), redisDb()]);
      try {
        const env = {
          ...(await preflightEnv({ db, etcd, redis })),
          STORAGE_MOUNT: '/mnt/vfroot',
          PREFLIGHT_WAIT_TIMEOUT: '60s',
          PREFLIGHT_LOCK_TIMEOUT: '5m',
          PREFLIGHT_BASELINE: baseline ? 'true' : 'false',
        };
        const results = await Promise.all(
          Array.from({ length: instances }, () => runCli(['run'], env, { timeoutMs: 180_000 })),
        );
        const failed = results.filter((result) => result.code !== 0);
        assert.deepEqual(
          failed.map((result) => result.code),
          [],
          failed.map((result) => result.stdout + result.stderr).join('\n---\n'),
        );

        const applied = results.flatMap((result) =>
          result.lines.filter((line) => line.event === 'migration.applied').map((line) => String(line.name)),
        );
        const baselines = results.flatMap((result) => result.lines.filter((line) => line.event === 'baseline.applied'));
        assert.ok(baselines.length <= (baseline ? 1 : 0), `the baseline was applied ${baselines.length} times`);
        const byBaseline = baselines.reduce((sum, line) => sum + Number(line.migrations), 0);
        assert.deepEqual(
          [...applied].sort(),
          [...names.slice(byBaseline)].sort(),
          'each migration applied by exactly one instance',
        );
        if (baseline) assert.ok(byBaseline > 0, 'the baseline snapshot was used');
        const recorded = (await db.query('SELECT name FROM migrations ORDER BY id')).map((row) => String(row.name));
        assert.deepEqual(recorded, names);
        assert.deepEqual(
          await db.query('SELECT name, count(*)::int AS n FROM migrations GROUP BY name HAVING count(*) > 1'),
          [],
        );
        assert.deepEqual(
          (await db.query('SELECT name FROM preflight_migrations ORDER BY name')).map((row) => String(row.name)),
          [...names].sort(),
        );

        const written = results.flatMap((result) =>
          result.lines.filter((line) => line.event === 'fixtures.file.applied').map((line) => String(line.file)),
        );
        assert.deepEqual(written.sort(), fixtureFiles, 'each fixture file written by exactly one instance');
        const records = await etcd.client.getAll().prefix(`${etcd.namespace}/_preflight/fixtures/`).keys();
        assert.deepEqual(
          records.sort(),
          fixtureFiles.map((file) => `${etcd.namespace}/_preflight/fixtures/${file}`),
        );
        assert.equal(await redis.client.dbsize(), 0, 'nothing written to Redis');
      } finally {
        await Promise.all([db.close(), etcd.close(), redis.close()]);
      }
    });
  }
});
