import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, tempDir, testStack } from './context';
import { startStack } from './stack';

test('PostgreSQL, etcd and Redis answer with the sentinel passwords', async () => {
  const db = await freshDatabase();
  const etcd = await etcdNamespace();
  const redis = await redisDb();
  try {
    assert.deepEqual(await db.query('SELECT current_database() AS name'), [{ name: db.name }]);
    await etcd.client.put(`${etcd.namespace}/probe`).value('yes');
    assert.equal(await etcd.client.get(`${etcd.namespace}/probe`).string(), 'yes');
    assert.equal(await redis.client.ping(), 'PONG');
    assert.deepEqual(await redis.client.config('GET', 'appendonly'), ['appendonly', 'yes']);
  } finally {
    await Promise.all([db.close(), etcd.close(), redis.close()]);
  }
});

test('each server refuses a wrong password', async () => {
  const stack = await testStack();
  const { host, port } = stack.postgres;
  const pg = new Client({ host, port, user: 'postgres', database: 'postgres', password: 'wrong' });
  await assert.rejects(pg.connect(), /password authentication failed/);
  await pg.end();

  const etcd = new Etcd3({ hosts: stack.etcd.endpoint, auth: { username: 'root', password: 'wrong' } });
  await assert.rejects(etcd.get('anything').string(), /authentication failed/);
  etcd.close();
  const anonymous = new Etcd3({ hosts: stack.etcd.endpoint });
  await assert.rejects(anonymous.get('anything').string(), /user name is empty|permission denied/);
  anonymous.close();

  const redis = new Redis({
    host: stack.redis.host,
    port: stack.redis.port,
    password: 'wrong',
    lazyConnect: true,
    retryStrategy: () => null,
  });
  const redisErrors: string[] = [];
  redis.on('error', (error: Error) => redisErrors.push(error.message));
  await assert.rejects(redis.connect());
  redis.disconnect();
  assert.match(redisErrors.join('\n'), /WRONGPASS/);
});

test('fresh databases, etcd namespaces and Redis db indices are distinct', async () => {
  const dbs = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
  const namespaces = await Promise.all([etcdNamespace(), etcdNamespace(), etcdNamespace()]);
  const redisDbs = await Promise.all([redisDb(), redisDb(), redisDb()]);
  try {
    assert.equal(new Set(dbs.map((db) => db.name)).size, 3);
    assert.equal(new Set(namespaces.map((ns) => ns.namespace)).size, 3);
    assert.equal(new Set(redisDbs.map((db) => db.index)).size, 3);
    assert.ok(
      redisDbs.every((db) => db.index >= 1),
      'db 0 holds the allocation counter',
    );
    assert.deepEqual(await dbs[0].query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [
      { n: 0 },
    ]);
    await redisDbs[0].client.set('mine', '1');
    assert.equal(await redisDbs[1].client.get('mine'), null);
  } finally {
    await Promise.all([...dbs, ...namespaces, ...redisDbs].map((part) => part.close()));
  }
});

test('preflightEnv points at the stores and passes no other PREFLIGHT_* variable', async () => {
  const db = await freshDatabase();
  const etcd = await etcdNamespace();
  const redis = await redisDb();
  process.env.PREFLIGHT_SHOULD_NOT_LEAK = 'x';
  try {
    const env = await preflightEnv({ db, etcd, redis });
    assert.deepEqual(Object.keys(env).sort(), [
      'DATABASE_URL',
      'ETCD_ENDPOINTS',
      'ETCD_NAMESPACE',
      'ETCD_PASSWORD',
      'ETCD_USERNAME',
      'HOME',
      'LOG_FORMAT',
      'PATH',
      'PREFLIGHT_WAIT_TIMEOUT',
      'REDIS_URL',
    ]);
    assert.equal(env.DATABASE_URL, db.url);
    assert.equal(env.ETCD_NAMESPACE, etcd.namespace);
    assert.equal(env.REDIS_URL, redis.url);
    assert.deepEqual(
      Object.keys(await preflightEnv({ db })).filter((key) => /^(ETCD|REDIS)_/.test(key)),
      [],
    );
  } finally {
    delete process.env.PREFLIGHT_SHOULD_NOT_LEAK;
    await Promise.all([db.close(), etcd.close(), redis.close()]);
  }
});

test('a stopped server comes back on the same port with its data, and stop() removes everything', async () => {
  const stack = await startStack();
  try {
    const pg = new Client({ connectionString: stack.info.postgres.adminUrl });
    await pg.connect();
    await pg.query('CREATE TABLE survivor (id int)');
    await pg.end();
    const etcd = new Etcd3({
      hosts: stack.info.etcd.endpoint,
      auth: { username: 'root', password: stack.info.etcd.password },
    });
    await etcd.put('survivor').value('1');
    etcd.close();
    const redis = new Redis(stack.info.redis.url);
    await redis.set('survivor', '1');
    redis.disconnect();

    await Promise.all([stack.postgres.stop(), stack.etcd.stop(), stack.redis.stop()]);
    assert.equal(stack.postgres.running, false);
    const down = new Client({ connectionString: stack.info.postgres.adminUrl });
    await assert.rejects(down.connect(), /ECONNREFUSED/);
    await Promise.all([stack.postgres.start(), stack.etcd.start(), stack.redis.start()]);

    const again = new Client({ connectionString: stack.info.postgres.adminUrl });
    await again.connect();
    assert.deepEqual((await again.query("SELECT to_regclass('survivor')::text AS t")).rows, [{ t: 'survivor' }]);
    await again.end();
    const etcdAgain = new Etcd3({
      hosts: stack.info.etcd.endpoint,
      auth: { username: 'root', password: stack.info.etcd.password },
    });
    assert.equal(await etcdAgain.get('survivor').string(), '1');
    etcdAgain.close();
    const redisAgain = new Redis(stack.info.redis.url);
    assert.equal(await redisAgain.get('survivor'), '1');
    redisAgain.disconnect();
  } finally {
    await stack.stop();
  }
  assert.equal(fs.existsSync(stack.dir), false);
});

test('servers die and the temp dir goes when the process that started them is SIGKILLed', async () => {
  const script = `require(${JSON.stringify(path.join(__dirname, 'stack.js'))}).startStack()
    .then((s) => { console.log(JSON.stringify({ dir: s.dir, url: s.info.postgres.adminUrl })); setInterval(() => {}, 1000); })`;
  const owner = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise<{ dir: string; url: string }>((resolve) =>
    owner.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()))),
  );
  assert.ok(fs.existsSync(started.dir));
  owner.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  while (fs.existsSync(started.dir) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(fs.existsSync(started.dir), false, 'the reaper deletes the temp dir');
  const orphan = new Client({ connectionString: started.url });
  await assert.rejects(orphan.connect(), /ECONNREFUSED/);
});

test('run-tests fails the run when a sentinel password reaches test output or captured CLI output', async () => {
  const dir = tempDir();
  const leaky = path.join(dir, 'leaky.test.js');
  fs.writeFileSync(
    leaky,
    `
    const { test } = require('node:test');
    const stack = JSON.parse(process.env.PREFLIGHT_TEST_STACK);
    test('leaks', () => {
      console.log(stack.redis.password);
      require('node:fs').writeFileSync(process.env.PREFLIGHT_TEST_CAPTURE_DIR + '/cli.log', stack.etcd.password);
    });
  `,
  );
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir };
  const run = spawn(process.execPath, [path.join(__dirname, 'run-tests.js'), leaky], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  run.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  run.stdout.resume();
  const code = await new Promise<number | null>((resolve) => run.once('close', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /Redis password in node --test stdout, line \d+/);
  assert.match(stderr, /etcd password in captured CLI output cli\.log, line 1/);
  const kept = /captured CLI output kept in (\S+)\n/.exec(stderr);
  assert.ok(kept, stderr);
  assert.ok(fs.existsSync(path.join(kept[1], 'cli.log')));
  fs.rmSync(path.dirname(kept[1]), { recursive: true });
});
