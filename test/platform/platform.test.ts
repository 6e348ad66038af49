import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, runCli, spawnCli, tempDir } from '../support/context';
import { schemaSnapshot } from '../cli/generate-migrations';
import { platformMigrationNames, recordedMigrations } from '../cli/helpers';

const distMigrations = path.resolve(__dirname, '../../migrations');

/** A migrations directory holding only the first `count` platform migrations (symlinks, with the matching manifest). */
function firstMigrations(count: number): string {
  const dir = tempDir('preflight-subset-');
  const manifest = JSON.parse(fs.readFileSync(path.join(distMigrations, 'preflight-manifest.json'), 'utf8'));
  manifest.migrations = manifest.migrations.slice(0, count);
  for (const entry of manifest.migrations)
    fs.symlinkSync(path.join(distMigrations, entry.file), path.join(dir, entry.file));
  fs.writeFileSync(path.join(dir, 'preflight-manifest.json'), JSON.stringify(manifest));
  return dir;
}

async function userTables(db: { query(sql: string): Promise<Array<Record<string, unknown>>> }): Promise<string[]> {
  return (
    await db.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('migrations', 'preflight_migrations') ORDER BY 1`,
    )
  ).map((row) => String(row.tablename));
}

test('a database at every intermediate migration upgrades to head, with the same schema as a straight replay', async () => {
  const straight = await freshDatabase();
  assert.equal((await runCli(['run'], await preflightEnv({ db: straight }))).code, 0);
  const expected = await schemaSnapshot(straight.query);
  const total = platformMigrationNames().length;
  await Promise.all(
    Array.from({ length: total - 1 }, async (_, index) => {
      const db = await freshDatabase();
      try {
        const partial = await runCli(['run'], {
          ...(await preflightEnv({ db })),
          PREFLIGHT_MIGRATIONS: firstMigrations(index + 1),
        });
        assert.equal(partial.code, 0, partial.stdout);
        assert.equal((await recordedMigrations(db)).length, index + 1);
        const upgrade = await runCli(['run'], await preflightEnv({ db }));
        assert.equal(upgrade.code, 0, upgrade.stdout);
        assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
        assert.deepEqual(await schemaSnapshot(db.query), expected, `upgrade from migration ${index + 1}`);
      } finally {
        await db.close();
      }
    }),
  );
  await straight.close();
});

test('down to zero removes every platform table, and up again gives the same schema', async () => {
  const db = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    assert.equal((await runCli(['run'], env)).code, 0);
    const expected = await schemaSnapshot(db.query);
    const down = await runCli(['down', String(platformMigrationNames().length), '--yes'], env);
    assert.equal(down.code, 0, down.stdout);
    assert.deepEqual(await userTables(db), []);
    assert.deepEqual(await recordedMigrations(db), []);
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.deepEqual(await schemaSnapshot(db.query), expected);
  } finally {
    await db.close();
  }
});

test('the first admin is seeded once with a random AKIA keypair written to a 0600 file and never logged', async () => {
  const db = await freshDatabase();
  try {
    const secrets = tempDir();
    const env = {
      ...(await preflightEnv({ db })),
      PREFLIGHT_SECRETS_DIR: secrets,
      PREFLIGHT_ADMIN_USERNAME: 'root-admin',
      PREFLIGHT_ADMIN_EMAIL: 'ops@example.org',
    };
    const first = await runCli(['run'], env);
    assert.equal(first.code, 0, first.stdout);
    const file = path.join(secrets, 'admin-keypair.env');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const values = Object.fromEntries(
      fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    assert.match(values.ACCESS_KEY, /^AKIA[A-Z2-7]{16}$/);
    assert.match(values.SECRET_KEY, /^[A-Za-z0-9]{40}$/);
    for (const secret of [values.SECRET_KEY, values.ADMIN_PASSWORD])
      assert.ok(!first.stdout.includes(secret) && !first.stderr.includes(secret));
    const admins = await db.query(
      `SELECT k.access_key, k.secret_key, u.username, u.email, u.role FROM keypairs k JOIN users u ON u.id = k.user_id WHERE k.is_admin`,
    );
    assert.deepEqual(admins, [
      {
        access_key: values.ACCESS_KEY,
        secret_key: values.SECRET_KEY,
        username: 'root-admin',
        email: 'ops@example.org',
        role: 'superadmin',
      },
    ]);

    const before = fs.readFileSync(file, 'utf8');
    const second = await runCli(['run'], env);
    assert.equal(second.code, 0);
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'never rotated');
    assert.equal(
      (await db.query('SELECT count(*)::int AS n FROM keypairs WHERE is_admin'))[0].n,
      1,
      'never a second admin',
    );
  } finally {
    await db.close();
  }
});

test('legacy etcd images are imported into PostgreSQL with their aliases; without etcd the tables are created empty', async () => {
  const [db, etcd] = await Promise.all([freshDatabase(), etcdNamespace()]);
  try {
    const base = `${etcd.namespace}/images/cr.backend.ai/${encodeURIComponent('stable/python')}/3.9-ubuntu20.04`;
    await Promise.all([
      etcd.client.put(base).value('sha256:0123abcd'),
      etcd.client.put(`${base}/size_bytes`).value('734003200'),
      etcd.client.put(`${base}/labels/ai.backend.role`).value('COMPUTE'),
      etcd.client.put(`${base}/resource/cpu/min`).value('1'),
      etcd.client.put(`${base}/resource/mem/min`).value('1g'),
      etcd.client.put(`${etcd.namespace}/images/_aliases/py39`).value('cr.backend.ai/stable/python:3.9-ubuntu20.04'),
    ]);
    const env = { ...(await preflightEnv({ db, etcd })), STORAGE_MOUNT: '/mnt/vfroot' };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout);
    assert.deepEqual(
      await db.query(
        `SELECT name, image, tag, registry, architecture, config_digest, size_bytes::int AS size, labels, resources FROM images`,
      ),
      [
        {
          name: 'cr.backend.ai/stable/python:3.9-ubuntu20.04',
          image: 'stable/python',
          tag: '3.9-ubuntu20.04',
          registry: 'cr.backend.ai',
          architecture: 'x86_64',
          config_digest: 'sha256:0123abcd',
          size: 734003200,
          labels: { 'ai.backend.role': 'COMPUTE' },
          resources: { cpu: { min: '1' }, mem: { min: '1g' } },
        },
      ],
    );
    assert.deepEqual(await db.query(`SELECT a.alias, i.tag FROM image_aliases a JOIN images i ON i.id = a.image_id`), [
      { alias: 'py39', tag: '3.9-ubuntu20.04' },
    ]);

    const plain = await freshDatabase();
    const withoutEtcd = await runCli(['run'], await preflightEnv({ db: plain }));
    assert.equal(withoutEtcd.code, 0);
    assert.ok(
      withoutEtcd.lines.some(
        (line) => line.event === 'migration.info' && /etcd is not configured/.test(String(line.message)),
      ),
    );
    assert.deepEqual(await plain.query('SELECT count(*)::int AS n FROM images'), [{ n: 0 }]);
    await plain.close();
  } finally {
    await Promise.all([db.close(), etcd.close()]);
  }
});

test('killed between the Redis write and the PostgreSQL commit, ConcurrencyUsedToRedis converges on re-run; down fills the column back from Redis', async () => {
  const [db, redis] = await Promise.all([freshDatabase(), redisDb()]);
  const blocker = new Client({ connectionString: db.url });
  try {
    const env = { ...(await preflightEnv({ db, redis })), PREFLIGHT_DDL_LOCK_TIMEOUT: '60s' };
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.equal((await runCli(['down', '--yes'], env)).code, 0, 'back to before ConcurrencyUsedToRedis');
    await db.query(`INSERT INTO keypair_resource_policies (name) VALUES ('default')`);
    const [{ id }] = await db.query(
      `INSERT INTO users (username, email, auth_provider) VALUES ('u', 'u@example.org', 'local') RETURNING id`,
    );
    for (const [index, accessKey] of ['AKIAAAAAAAAAAAAAAAAA', 'AKIABBBBBBBBBBBBBBBB'].entries()) {
      await db.query(
        `INSERT INTO keypairs (access_key, secret_key, user_id, resource_policy, concurrency_used) VALUES ($1, 's', $2, 'default', $3)`,
        [accessKey, id, index + 3],
      );
    }
    // An open transaction that read keypairs keeps the migration's DROP COLUMN waiting after its Redis writes.
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT count(*) FROM keypairs');
    const { child, result } = spawnCli(['run'], env);
    const deadline = Date.now() + 30_000;
    while ((await redis.client.get('keypair.concurrency_used.AKIABBBBBBBBBBBBBBBB')) === null && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGKILL');
    await result;
    await blocker.query('ROLLBACK');
    assert.equal((await recordedMigrations(db)).includes('ConcurrencyUsedToRedis1700000700000'), false, 'not recorded');
    assert.deepEqual(
      await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'keypairs' AND column_name = 'concurrency_used'`,
      ),
      [{ column_name: 'concurrency_used' }],
    );
    assert.equal(
      await redis.client.get('keypair.concurrency_used.AKIAAAAAAAAAAAAAAAAA'),
      '3',
      'Redis was written before the kill',
    );

    const rerun = await runCli(['run'], env);
    assert.equal(rerun.code, 0, rerun.stdout);
    assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
    assert.deepEqual(
      await redis.client.mget(
        'keypair.concurrency_used.AKIAAAAAAAAAAAAAAAAA',
        'keypair.concurrency_used.AKIABBBBBBBBBBBBBBBB',
      ),
      ['3', '4'],
    );
    assert.deepEqual(
      await db.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'keypairs' AND column_name = 'concurrency_used'`,
      ),
      [],
    );

    await redis.client.set('keypair.concurrency_used.AKIAAAAAAAAAAAAAAAAA', '7');
    assert.equal((await runCli(['down', '--yes'], env)).code, 0);
    assert.deepEqual(await db.query(`SELECT access_key, concurrency_used FROM keypairs ORDER BY 1`), [
      { access_key: 'AKIAAAAAAAAAAAAAAAAA', concurrency_used: 7 },
      { access_key: 'AKIABBBBBBBBBBBBBBBB', concurrency_used: 4 },
    ]);
  } finally {
    await blocker.end().catch(() => undefined);
    await Promise.all([db.close(), redis.close()]);
  }
});
