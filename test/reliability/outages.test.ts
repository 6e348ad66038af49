/**
 * Outages (issue 6, reliability item 3), on a private PostgreSQL, etcd and Redis of this file's own
 * (startStack()), which the tests stop and start: PostgreSQL coming up 10 s after the job starts,
 * PostgreSQL never coming up, etcd going away in the middle of a 20,000-key fixture load, and Redis
 * down. The tests run in order and share the stack; each first starts what it needs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Client } from 'pg';
import { createDatabaseOn, runCli, spawnCli, tempDir, type CliResult } from '../support/context';
import { startStack, type Stack } from '../support/stack';
import {
  eventOf,
  leakedSentinels,
  logSpanMs,
  onlyFailure,
  platformMigrations,
  userRelations,
  writeFiles,
} from './support';

let stack: Stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** Every CLI result of this file, checked for the private stack's passwords. */
function seen(result: CliResult): CliResult {
  assert.deepEqual(
    leakedSentinels(result.stdout + result.stderr, stack.sentinels),
    [],
    'a sentinel password appeared in the output',
  );
  return result;
}

async function ensureRunning(...servers: Array<'postgres' | 'etcd' | 'redis'>): Promise<void> {
  for (const server of servers) if (!stack[server].running) await stack[server].start();
}

function createDatabase(): Promise<{ name: string; url: string }> {
  return createDatabaseOn(stack.info.postgres, 'outage');
}

async function query<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function etcdClient(): Etcd3 {
  const { etcd } = stack.info;
  return new Etcd3({ hosts: etcd.endpoint, auth: { username: etcd.username, password: etcd.password } });
}

function baseEnv(databaseUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: databaseUrl,
    LOG_FORMAT: 'json',
    PREFLIGHT_REPORT_FILE: 'none',
  };
}

test('PostgreSQL never up: exit 69 within the wait timeout, naming PostgreSQL and the last error', async () => {
  await ensureRunning('postgres');
  const db = await createDatabase();
  await stack.postgres.stop();
  const result = seen(await runCli(['run'], { ...baseEnv(db.url), PREFLIGHT_WAIT_TIMEOUT: '4s' }));
  assert.equal(result.code, 69, result.stdout + result.stderr);
  const { port } = stack.info.postgres;
  assert.match(
    onlyFailure(result),
    new RegExp(
      `^PostgreSQL at 127\\.0\\.0\\.1:${port} \\(database ${db.name}\\) not reachable within 4s: connect ECONNREFUSED`,
    ),
  );
  assert.ok(logSpanMs(result) <= 4000 + 2000, `gave up after ${logSpanMs(result)}ms on its own clock`);
  assert.ok(
    result.lines.filter((line) => line.event === 'wait.retry' && line.store === 'postgres').length >= 2,
    'retried while waiting',
  );
});

test('PostgreSQL started 10 s after the job: the job waits for it and exits 0', async () => {
  await ensureRunning('postgres');
  const db = await createDatabase();
  await stack.postgres.stop();
  const { result } = spawnCli(['run'], { ...baseEnv(db.url), PREFLIGHT_WAIT_TIMEOUT: '30s' }, { timeoutMs: 90_000 });
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const startedAt = Date.now();
  await stack.postgres.start();
  const outcome = seen(await result);
  assert.equal(outcome.code, 0, outcome.stdout + outcome.stderr);
  const at = (line: Record<string, unknown> | undefined) => Date.parse(String(line?.timestamp));
  const firstRetry = outcome.lines.find((line) => line.event === 'wait.retry' && line.store === 'postgres');
  const ready = outcome.lines.find((line) => line.event === 'wait.ready' && line.store === 'postgres');
  assert.ok(firstRetry && ready, outcome.stdout);
  assert.ok(at(firstRetry) < startedAt, 'the job was waiting for PostgreSQL before it started');
  assert.ok(at(ready) >= startedAt, 'PostgreSQL became ready only after it was started');
  const recorded = (await query<{ name: string }>(db.url, 'SELECT name FROM migrations ORDER BY id')).map(
    (row) => row.name,
  );
  assert.deepEqual(recorded, platformMigrations(), 'the platform migrations were applied');
});

/** A fixture file of 200 × 100 keys, and what it must put in etcd under `namespace`. */
function bigFixture(namespace: string): { text: string; expected: Map<string, string> } {
  const salt = randomBytes(4).toString('hex');
  const lines = ['prefix: big', 'data:'];
  const expected = new Map<string, string>();
  for (let group = 0; group < 200; group++) {
    const g = `g${String(group).padStart(3, '0')}`;
    lines.push(`  ${g}:`);
    for (let key = 0; key < 100; key++) {
      const k = `k${String(key).padStart(2, '0')}`;
      const value = `value-${g}-${k}-${salt}-${'x'.repeat(16)}`;
      lines.push(`    ${k}: ${value}`);
      expected.set(`${namespace}/big/${g}/${k}`, value);
    }
  }
  return { text: `${lines.join('\n')}\n`, expected };
}

test('etcd stopped in the middle of a 20,000-key fixture load: exit 69 or 70, nothing recorded as applied; with etcd back a re-run converges to exactly the file', async (t) => {
  await ensureRunning('postgres', 'etcd', 'redis');
  const db = await createDatabase();
  const namespace = `/outage/${randomBytes(5).toString('hex')}`;
  const dir = tempDir('preflight-outage-');
  const big = bigFixture(namespace);
  const env = {
    ...baseEnv(db.url),
    PREFLIGHT_WAIT_TIMEOUT: '10s',
    PREFLIGHT_MIGRATIONS: writeFiles(path.join(dir, 'migrations'), {}),
    PREFLIGHT_ALLOW_EMPTY: 'true',
    PREFLIGHT_FIXTURES: writeFiles(path.join(dir, 'fixtures'), { '50-big.yaml': big.text }),
    ETCD_ENDPOINTS: stack.info.etcd.endpoint,
    ETCD_NAMESPACE: namespace,
    ETCD_USERNAME: stack.info.etcd.username,
    ETCD_PASSWORD: stack.info.etcd.password,
  };
  const recordKey = `${namespace}/_preflight/fixtures/50-big.yaml`;

  // Stop etcd as soon as the first keys of the file appear: the load has begun and is far from done.
  const watcher = etcdClient();
  let keysWhenStopped = -1;
  try {
    const { child, result } = spawnCli(['run'], env, { timeoutMs: 90_000 });
    let finished = false;
    void result.then(() => (finished = true));
    for (;;) {
      if (finished) break;
      const count = await watcher.getAll().prefix(`${namespace}/big/`).count();
      if (count > 0) {
        await stack.etcd.stop();
        keysWhenStopped = count;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const outcome = seen(await result);
    assert.ok(
      keysWhenStopped > 0,
      `the load finished before etcd could be stopped (exit ${outcome.code}, pid ${child.pid})`,
    );
    assert.ok([69, 70].includes(outcome.code ?? -1), `exit ${outcome.code}:\n${outcome.stdout}${outcome.stderr}`);
    const message = onlyFailure(outcome);
    t.diagnostic(
      `etcd stopped with ${keysWhenStopped} of ${big.expected.size} keys written; the job exited ${outcome.code}: ${message}`,
    );
    assert.match(
      message,
      /^(\S*50-big\.yaml: writing to etcd failed: .* — the file is applied again on the next run|etcd: reading \S+ failed: .*)$/,
    );
  } finally {
    watcher.close();
  }

  await stack.etcd.start();
  const reader = etcdClient();
  try {
    const partial = await reader.getAll().prefix(`${namespace}/`).strings();
    assert.equal(partial[recordKey], undefined, 'an interrupted file must not be recorded as applied');
    assert.ok(Object.keys(partial).length < big.expected.size, 'the interrupted load was partial');

    t.diagnostic(`${Object.keys(partial).length} keys were left by the interrupted load`);
    const rerun = seen(await runCli(['run'], env, { timeoutMs: 90_000 }));
    const applied = eventOf(rerun, 'fixtures.file.applied');
    t.diagnostic(`the re-run put ${String(applied?.puts)} keys in ${String(applied?.durationMs)}ms`);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    const content = await reader.getAll().prefix(`${namespace}/`).strings();
    const hash = content[recordKey];
    assert.match(hash ?? '', /^[0-9a-f]{64}$/, 'the hash record of the file is present');
    delete content[recordKey];
    assert.equal(Object.keys(content).length, big.expected.size, 'exactly the keys of the file');
    const wrong = [...big.expected].filter(([key, value]) => content[key] !== value).map(([key]) => key);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} keys missing or with another value`);
  } finally {
    reader.close();
  }
});

test('Redis down: exit 69 within the wait timeout with a message naming Redis, and nothing written anywhere', async () => {
  await ensureRunning('postgres', 'redis');
  const db = await createDatabase();
  const { redis } = stack.info;
  await stack.redis.stop();
  try {
    const result = seen(
      await runCli(['run'], { ...baseEnv(db.url), REDIS_URL: redis.url, PREFLIGHT_WAIT_TIMEOUT: '3s' }),
    );
    assert.equal(result.code, 69, result.stdout + result.stderr);
    assert.match(
      onlyFailure(result),
      new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port}/0 not reachable within 3s: .*ECONNREFUSED`),
    );
    assert.ok(logSpanMs(result) <= 3000 + 2000, `gave up after ${logSpanMs(result)}ms on its own clock`);
    assert.deepEqual(await userRelations((sql) => query(db.url, sql)), [], 'no table was created');
  } finally {
    await stack.redis.start();
  }
});
