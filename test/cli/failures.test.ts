import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { lockKeys } from '../../src/postgres/advisory-lock';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, runCli, tempDir, testStack } from '../support/context';
import { failureLines, recordedMigrations } from './helpers';

/** The one failure line of a run, which must exist and be the only one. */
function failureOf(result: { lines: Array<Record<string, unknown>>; stdout: string }): string {
  const failures = failureLines(result.lines);
  assert.equal(failures.length, 1, result.stdout);
  return String(failures[0].message);
}

/**
 * The job gives up within its wait timeout + 2 s of starting to wait for the store, measured by its
 * own log clock (the store's first retry, less its 100 ms delay, to the failure), so loading Node
 * and the store's driver on a loaded CI machine does not count against it.
 */
function assertGaveUpInTime(
  result: { lines: Array<Record<string, unknown>>; durationMs: number },
  timeoutMs: number,
  store: string,
): void {
  const at = (line: Record<string, unknown> | undefined) => Date.parse(String(line?.timestamp));
  const firstRetry = result.lines.find((line) => line.event === 'wait.retry' && line.store === store);
  const elapsedMs = at(result.lines.find((line) => line.event === 'job.failed')) - (at(firstRetry) - 100);
  assert.ok(elapsedMs <= timeoutMs + 2000, `gave up after ${elapsedMs}ms`);
  assert.ok(result.durationMs < timeoutMs + 10_000, `process took ${result.durationMs}ms`);
}

test('bad configuration exits 78 listing every problem, before touching any store', async () => {
  const db = await freshDatabase();
  try {
    const env = {
      ...(await preflightEnv({ db })),
      PREFLIGHT_LOCK_TIMEOUT: 'soon',
      PREFLIGHT_TRANSACTION: 'sometimes',
      PREFLIGHT_WAIT_TIMOUT: '10s',
      ETCD_ENDPOINTS: 'etcd:2379',
      REDIS_URL: 'http://redis:6379',
      LOG_LEVEL: 'loud',
    };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 78);
    const message = failureOf(result);
    for (const culprit of [
      'PREFLIGHT_LOCK_TIMEOUT:',
      'PREFLIGHT_TRANSACTION:',
      'PREFLIGHT_WAIT_TIMOUT: unknown variable',
      'ETCD_ENDPOINTS:',
      'REDIS_URL:',
      'LOG_LEVEL:',
    ]) {
      assert.ok(message.includes(culprit), `${culprit} missing from: ${message}`);
    }
    assert.match(message, /^invalid configuration \(6 problems\)/);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test('a missing DATABASE_URL and an unreadable secret file are configuration errors naming the variable', async () => {
  const env = { PATH: process.env.PATH ?? '', PGPASSWORD_FILE: '/nonexistent/pgpass', LOG_FORMAT: 'json' };
  const result = await runCli(['run'], env);
  assert.equal(result.code, 78);
  const message = failureOf(result);
  assert.match(message, /PGPASSWORD_FILE: cannot read \/nonexistent\/pgpass \(ENOENT\)/);
  assert.match(message, /DATABASE_URL: not set/);
});

test('secrets are read from *_FILE variables', async () => {
  const db = await freshDatabase();
  const stack = await testStack();
  try {
    const secrets = tempDir();
    fs.writeFileSync(path.join(secrets, 'pgpass'), `${stack.postgres.password}\n`);
    const env = {
      ...(await preflightEnv({ db })),
      DATABASE_URL: `postgres://postgres@${stack.postgres.host}:${stack.postgres.port}/${db.name}`,
      PGPASSWORD_FILE: path.join(secrets, 'pgpass'),
    };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout);
  } finally {
    await db.close();
  }
});

test('an unreachable PostgreSQL exits 69 within the wait timeout, naming the store and the last error', async () => {
  const env = {
    ...(await preflightEnv({ db: { url: 'postgres://postgres:x@127.0.0.1:1/nowhere' } })),
    PREFLIGHT_WAIT_TIMEOUT: '2s',
  };
  const result = await runCli(['run'], env);
  assert.equal(result.code, 69);
  assertGaveUpInTime(result, 2000, 'postgres');
  assert.match(
    failureOf(result),
    /PostgreSQL at 127\.0\.0\.1:1 \(database nowhere\) not reachable within 2s: connect ECONNREFUSED/,
  );
});

test('unreachable etcd and Redis exit 69 naming each store', async () => {
  const db = await freshDatabase();
  try {
    const base = { ...(await preflightEnv({ db })), PREFLIGHT_WAIT_TIMEOUT: '2s' };
    const etcd = await runCli(['run'], { ...base, ETCD_ENDPOINTS: 'http://127.0.0.1:1' });
    assert.equal(etcd.code, 69, etcd.stdout + etcd.stderr);
    assertGaveUpInTime(etcd, 2000, 'etcd');
    assert.match(failureOf(etcd), /^etcd at http:\/\/127\.0\.0\.1:1 not reachable within 2s/);
    const redis = await runCli(['run'], { ...base, REDIS_URL: 'redis://127.0.0.1:1/0' });
    assert.equal(redis.code, 69);
    assertGaveUpInTime(redis, 2000, 'redis');
    assert.match(failureOf(redis), /^Redis at 127\.0\.0\.1:1\/0 not reachable within 2s/);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test('wrong credentials for any store fail at once with exit 78 and never print the password', async () => {
  const db = await freshDatabase();
  const stack = await testStack();
  try {
    const base = await preflightEnv({ db });
    const pg = await runCli(['run'], {
      ...base,
      DATABASE_URL: `postgres://postgres:wrongPassword1@${stack.postgres.host}:${stack.postgres.port}/${db.name}`,
    });
    assert.equal(pg.code, 78, pg.stdout);
    assert.match(failureOf(pg), /rejected the credentials of user postgres/);
    assert.ok(!pg.stdout.includes('wrongPassword1'));
    const redis = await runCli(['run'], {
      ...base,
      REDIS_URL: `redis://:wrongPassword2@${stack.redis.host}:${stack.redis.port}/0`,
    });
    assert.equal(redis.code, 78);
    assert.match(failureOf(redis), /^Redis at .* rejected the credentials/);
    assert.ok(!redis.stdout.includes('wrongPassword2'));
    const etcd = await runCli(['run'], {
      ...base,
      ETCD_ENDPOINTS: stack.etcd.endpoint,
      ETCD_USERNAME: 'root',
      ETCD_PASSWORD: 'wrongPassword3',
    });
    assert.equal(etcd.code, 78, etcd.stdout);
    assert.match(failureOf(etcd), /^etcd at .*: etcd refused the credentials.*ETCD_USERNAME/);
    assert.ok(!etcd.stdout.includes('wrongPassword3'));
  } finally {
    await db.close();
  }
});

test('a missing database is created when PREFLIGHT_CREATE_DATABASE=true, and named otherwise', async () => {
  const stack = await testStack();
  const name = `created_${Date.now()}`;
  const url = `postgres://postgres:${encodeURIComponent(stack.postgres.password)}@${stack.postgres.host}:${stack.postgres.port}/${name}`;
  // Refused at once (78): the timeout only spares a loaded machine a spurious "no answer".
  const base = { ...(await preflightEnv({ db: { url } })), PREFLIGHT_WAIT_TIMEOUT: '30s' };
  const refused = await runCli(['run'], base);
  assert.equal(refused.code, 78, refused.stdout);
  assert.match(failureOf(refused), new RegExp(`database "${name}" does not exist.*PREFLIGHT_CREATE_DATABASE=true`));
  const created = await runCli(['run'], { ...base, PREFLIGHT_CREATE_DATABASE: 'true' });
  assert.equal(created.code, 0, created.stdout);
  assert.ok(created.lines.some((line) => line.event === 'postgres.database_created'));
});

test('a held job lock makes a second instance wait, name the holder, and give up with 75', async () => {
  const db = await freshDatabase();
  const holder = new Client({ connectionString: db.url, application_name: 'someone-else' });
  await holder.connect();
  try {
    await holder.query('SELECT pg_advisory_lock($1, $2)', lockKeys(db.name, 'public', 'migrations'));
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_LOCK_TIMEOUT: '2s' };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 75);
    const waiting = result.lines.find((line) => line.event === 'lock.waiting');
    assert.ok(waiting, result.stdout);
    assert.equal((waiting.holder as { applicationName: string }).applicationName, 'someone-else');
    assert.match(
      failureOf(result),
      /job lock on database .* not acquired within 2s: held by pid \d+ \(someone-else, 127\.0\.0\.1/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await holder.end();
    await db.close();
  }
});

test('a Redis without the required persistence exits 69 before any migration', async () => {
  const db = await freshDatabase();
  const redis = await redisDb();
  try {
    // The test Redis keeps an append-only file but no RDB snapshots.
    const env = { ...(await preflightEnv({ db, redis })), PREFLIGHT_REDIS_PERSISTENCE: 'rdb' };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 69);
    assert.match(
      failureOf(result),
      /^Redis would lose data on restart: persistence is aof, PREFLIGHT_REDIS_PERSISTENCE=rdb needs RDB snapshots/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await Promise.all([db.close(), redis.close()]);
  }
});

test('a fixture file with a missing variable exits 78 naming file and key, with no change to any store', async () => {
  const [db, etcd] = await Promise.all([freshDatabase(), etcdNamespace()]);
  try {
    const env = await preflightEnv({ db, etcd });
    const result = await runCli(['run'], env);
    assert.equal(result.code, 78);
    assert.match(failureOf(result), /20-volumes\.yaml:\d+.*STORAGE_MOUNT/);
    assert.deepEqual(await recordedMigrations(db), []);
    assert.equal((await etcd.client.getAll().prefix(etcd.namespace).keys()).length, 0);
  } finally {
    await Promise.all([db.close(), etcd.close()]);
  }
});

test('a malformed fixture file exits 65 with file, line and reason, and nothing is written', async () => {
  const [db, etcd] = await Promise.all([freshDatabase(), etcdNamespace()]);
  try {
    const fixtures = tempDir();
    fs.writeFileSync(path.join(fixtures, '10-good.yaml'), 'prefix: config\ndata:\n  a: 1\n');
    fs.writeFileSync(path.join(fixtures, '20-bad.yaml'), 'prefix: volumes\nmode: upsert\ndata:\n  b: 2\n');
    const env = { ...(await preflightEnv({ db, etcd })), PREFLIGHT_FIXTURES: fixtures };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 65);
    assert.match(failureOf(result), /20-bad\.yaml:2:\d+: .*mode/);
    assert.deepEqual(await recordedMigrations(db), []);
    assert.equal((await etcd.client.getAll().prefix(etcd.namespace).keys()).length, 0);
  } finally {
    await Promise.all([db.close(), etcd.close()]);
  }
});

test('bad command-line usage exits 2 naming the culprit', async () => {
  const env = { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json' };
  const unknownCommand = await runCli(['migrate-all'], env);
  assert.equal(unknownCommand.code, 2);
  assert.match(failureOf(unknownCommand), /unknown command "migrate-all"/);
  const unknownOption = await runCli(['status', '--jsn'], env);
  assert.equal(unknownOption.code, 2);
  assert.match(failureOf(unknownOption), /preflight status: .*--jsn/);
  const help = await runCli(['run', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: preflight run/);
});
