/**
 * Fault injection on real servers (issue 11): connections cut by a TCP proxy (all of them in the
 * middle of a migration, or while the job waits for the lock) and PostgreSQL restarted
 * (fast shutdown) in the middle of a migration, on a private stack. After each fault: the job exits
 * 75 (its lock session was lost) or 69 (another connection), never 1 nor "fix the migration"; every
 * migration is applied exactly once, no INVALID index, no advisory lock left, the next run exits 0.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'pg';
import { lockKeys } from '../../src/postgres/advisory-lock';
import { migrationsDir, recordedMigrations } from '../cli/helpers';
import { createDatabaseOn, freshDatabase, preflightEnv, runCli, spawnCli, testStack } from '../support/context';
import { startStack, type Stack } from '../support/stack';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { leakedSentinels, onlyFailure } from './support';

type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** Two migrations: a table, then a row and a 4-second sleep (the window for the fault), and an index built concurrently. */
function faultMigrations(): string {
  return migrationsDir({
    Table1700000000001: { up: `await queryRunner.query('CREATE TABLE credits (id serial, amount int)');` },
    Grant1700000000002: {
      up: `await queryRunner.query('INSERT INTO credits(amount) VALUES (100)'); await queryRunner.query('SELECT pg_sleep(4)');`,
    },
    Index1700000000003: {
      transaction: false,
      up: `await queryRunner.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_credits_amount ON credits (amount)');`,
    },
  });
}

/** Resolves once the child printed `text`. */
function printed(child: { stdout: NodeJS.ReadableStream | null }, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Exactly once, no INVALID index, no advisory lock (waiting for orphaned backends to end). */
async function assertConverged(query: Query): Promise<void> {
  await waitUntil(
    async () =>
      (
        await query(
          `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        )
      ).length === 0,
  );
  assert.deepEqual(await recordedMigrations({ query }), [
    'Table1700000000001',
    'Grant1700000000002',
    'Index1700000000003',
  ]);
  assert.deepEqual(await query('SELECT amount FROM credits'), [{ amount: 100 }], 'the grant was applied once');
  assert.deepEqual(await query(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid`), []);
  assert.deepEqual(await query(`SELECT name FROM preflight_migrations WHERE state <> 'applied'`), []);
}

let proxy: TcpProxy;

before(async () => {
  const { postgres } = await testStack();
  proxy = await startTcpProxy(postgres.host, postgres.port);
});

after(async () => {
  await proxy?.close();
});

/** The test database's URL with the proxy's port: every connection of the job goes through it. */
function throughProxy(url: string): string {
  const parsed = new URL(url);
  parsed.port = String(proxy.port);
  return parsed.toString();
}

test('every connection cut mid-migration: exit 75 "connection lost … a re-run is safe"; a second instance started after the cut applies it exactly once', async () => {
  const db = await freshDatabase();
  try {
    const dir = faultMigrations();
    const direct = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const first = spawnCli(['run'], { ...direct, DATABASE_URL: throughProxy(db.url) });
    await printed(first.child, '"name":"Grant1700000000002"');
    assert.ok(proxy.cutAll() >= 1);
    const second = await runCli(['run'], direct);
    const lost = await first.result;
    assert.equal(lost.code, 75, lost.stdout + lost.stderr);
    assert.match(onlyFailure(lost), /^connection lost: .*Grant1700000000002.*a re-run is safe$/);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    await assertConverged(db.query);
    assert.equal((await runCli(['run'], direct)).code, 0);
  } finally {
    await db.close();
  }
});

test('connections cut while the job waits for the lock (outside any migration): exit 69 "connection lost", not 1; the next run converges', async () => {
  const db = await freshDatabase();
  const holder = new Client({ connectionString: db.url });
  await holder.connect();
  try {
    const dir = faultMigrations();
    const direct = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir, PREFLIGHT_LOCK_TIMEOUT: '60s' };
    await holder.query('SELECT pg_advisory_lock($1, $2)', lockKeys(db.name, 'public', 'migrations'));
    const first = spawnCli(['run'], { ...direct, DATABASE_URL: throughProxy(db.url) });
    await printed(first.child, 'lock.waiting');
    proxy.cutAll();
    const outcome = await first.result;
    assert.equal(outcome.code, 69, outcome.stdout + outcome.stderr);
    assert.match(onlyFailure(outcome), /^connection lost: .*a re-run is safe$/);
    await holder.query('SELECT pg_advisory_unlock_all()');
    const rerun = await runCli(['run'], direct);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    await assertConverged(db.query);
  } finally {
    await holder.end();
    await db.close();
  }
});

test('PostgreSQL restarted (fast shutdown) mid-migration on a private stack: exit 75, then a re-run converges, every migration once', async () => {
  let stack: Stack | undefined;
  try {
    stack = await startStack();
    const { url } = await createDatabaseOn(stack.info.postgres, 'restart');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: url,
      LOG_FORMAT: 'json',
      PREFLIGHT_WAIT_TIMEOUT: '30s',
      PREFLIGHT_MIGRATIONS: faultMigrations(),
    };
    const first = spawnCli(['run'], env);
    await printed(first.child, '"name":"Grant1700000000002"');
    await stack.postgres.stop();
    await stack.postgres.start();
    const lost = await first.result;
    const output = lost.stdout + lost.stderr;
    assert.deepEqual(leakedSentinels(output, stack.sentinels), []);
    assert.equal(lost.code, 75, output);
    assert.match(onlyFailure(lost), /^connection lost: .*a re-run is safe$/);
    const rerun = await runCli(['run'], env);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    assert.deepEqual(leakedSentinels(rerun.stdout + rerun.stderr, stack.sentinels), []);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await assertConverged(async (sql, params) => (await client.query(sql, params)).rows);
    } finally {
      await client.end();
    }
  } finally {
    await stack?.stop();
  }
});
