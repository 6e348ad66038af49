import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { retentionCutoff } from '../../src/config/retention';
import { clearHistory } from '../../src/job/clear-history';
import { kernelRedisKeys } from '../../src/redis/history';
import { PreflightError } from '../../src/core/errors';
import type { LogEvent, Logger } from '../../src/log/logger';
import {
  freshDatabase,
  preflightEnv,
  redisDb,
  runCli,
  tempDir,
  type TestDatabase,
  type TestRedisDb,
} from '../support/context';
import { failureLines } from './helpers';

const at = (iso: string) => new Date(iso);
const cutoff = (text: string, now: string) => retentionCutoff(text, at(now)).toISOString();

test('retentions subtract fixed units exactly; a bare number is seconds', () => {
  const now = '2026-09-26T12:00:00.000Z';
  assert.equal(cutoff('30m', now), '2026-09-26T11:30:00.000Z');
  assert.equal(cutoff('6h', now), '2026-09-26T06:00:00.000Z');
  assert.equal(cutoff('3d', now), '2026-09-23T12:00:00.000Z');
  assert.equal(cutoff('2w', now), '2026-09-12T12:00:00.000Z');
  assert.equal(cutoff('90', now), '2026-09-26T11:58:30.000Z');
  assert.equal(cutoff('45s', now), '2026-09-26T11:59:15.000Z');
  assert.equal(cutoff('250ms', now), '2026-09-26T11:59:59.750Z');
  assert.equal(cutoff('1.5h', now), '2026-09-26T10:30:00.000Z');
  assert.equal(cutoff(' 3 d ', now), '2026-09-23T12:00:00.000Z');
});

test('months and years follow the calendar and clamp to the end of a shorter month', () => {
  assert.equal(cutoff('1mo', '2026-03-31T08:15:00.000Z'), '2026-02-28T08:15:00.000Z');
  assert.equal(cutoff('1mo', '2028-03-31T00:00:00.000Z'), '2028-02-29T00:00:00.000Z');
  assert.equal(cutoff('3mo', '2026-05-15T00:00:00.000Z'), '2026-02-15T00:00:00.000Z');
  assert.equal(cutoff('13mo', '2026-01-31T00:00:00.000Z'), '2024-12-31T00:00:00.000Z');
  assert.equal(cutoff('1yr', '2028-02-29T23:59:59.999Z'), '2027-02-28T23:59:59.999Z');
  assert.equal(cutoff('4yr', '2028-02-29T00:00:00.000Z'), '2024-02-29T00:00:00.000Z');
  assert.equal(cutoff('2000yr', '2026-06-01T00:00:00.000Z'), '0026-06-01T00:00:00.000Z');
});

test('a bad retention is a usage error naming --retention and the accepted forms', () => {
  const refusals: Record<string, RegExp> = {
    '-3d': /it is negative/,
    '': /it is empty/,
    '  ': /it is empty/,
    '5x': /unknown unit "x"/,
    '3 days': /unknown unit "days"/,
    '0': /zero would delete/,
    '0d': /zero/,
    '1.5mo': /fraction of a month or year/,
    '0.5yr': /fraction/,
    d: /not a duration/,
    '1e3s': /unknown unit/,
    '99999yr': /before the year 1/,
    ['9'.repeat(400)]: /before the year 1/,
  };
  for (const [text, reason] of Object.entries(refusals)) {
    assert.throws(
      () => retentionCutoff(text, new Date()),
      (error: unknown) => {
        assert.ok(error instanceof PreflightError, text);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /^preflight clear-history: --retention ".*": /);
        assert.match(error.message, reason, text);
        assert.match(error.message, /30m, 6h, 3d, 2w, 3mo or 1yr/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  }
});

const accessKey = 'AKIAABCDEFGHIJKLMNOP';

/** A database migrated by `preflight run`, with one user and keypair to own sessions. */
async function migratedDatabase(): Promise<TestDatabase> {
  const db = await freshDatabase();
  const migrated = await runCli(['run'], await preflightEnv({ db }));
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  await db.query(
    `INSERT INTO users (username, email, auth_provider) VALUES ('history', 'history@example.com', 'local')`,
  );
  await db.query(`INSERT INTO keypair_resource_policies (name) VALUES ('history')`);
  await db.query(
    `INSERT INTO keypairs (access_key, secret_key, user_id, resource_policy) SELECT $1, repeat('s', 40), id, 'history' FROM users WHERE username = 'history'`,
    [accessKey],
  );
  return db;
}

/** A session terminated `ago` (an interval, or null while it runs) with kernels terminated as given; their Redis keys set. */
async function session(
  db: TestDatabase,
  redis: TestRedisDb,
  ago: string | null,
  kernels: Array<string | null>,
): Promise<{ id: string; kernelIds: string[] }> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO sessions (id, name, access_key, terminated_at) VALUES ($1, 'job', $2, now() - $3::interval)`,
    [id, accessKey, ago],
  );
  const kernelIds = kernels.map(() => randomUUID());
  for (const [index, kernelAgo] of kernels.entries()) {
    await db.query(
      `INSERT INTO kernels (id, session_id, access_key, terminated_at) VALUES ($1, $2, $3, now() - $4::interval)`,
      [kernelIds[index], id, accessKey, kernelAgo],
    );
    for (const key of kernelRedisKeys(kernelIds[index])) await redis.client.set(key, 'x');
  }
  return { id, kernelIds };
}

const ids = async (db: TestDatabase, table: string) =>
  (await db.query(`SELECT id FROM ${table} ORDER BY id`)).map((row) => String(row.id));

test('clear-history deletes only kernels and sessions terminated before the retention, and their Redis keys; --dry-run deletes nothing', async () => {
  const [db, redis] = await Promise.all([migratedDatabase(), redisDb()]);
  try {
    await session(db, redis, '40 days', ['40 days', '45 days']);
    const running = await session(db, redis, null, ['40 days', null]);
    const recent = await session(db, redis, '5 days', ['5 days']);
    await session(db, redis, '40 days', []);
    const oldWithRecentKernel = await session(db, redis, '40 days', ['5 days']);
    await redis.client.set(`keypair.concurrency_used.${accessKey}`, '1');
    const env = await preflightEnv({ db, redis });
    const [kernelsBefore, sessionsBefore, keysBefore] = [
      await ids(db, 'kernels'),
      await ids(db, 'sessions'),
      await redis.client.dbsize(),
    ];

    const dryRun = await runCli(['clear-history', '--retention', '30d', '--dry-run'], env);
    assert.equal(dryRun.code, 0, dryRun.stdout + dryRun.stderr);
    assert.match(
      dryRun.stdout,
      /^would delete 3 kernels, 2 sessions, 6 Redis keys older than \d{4}-\d\d-\d\dT[\d:.]+Z$/m,
    );
    assert.deepEqual(
      [await ids(db, 'kernels'), await ids(db, 'sessions'), await redis.client.dbsize()],
      [kernelsBefore, sessionsBefore, keysBefore],
    );

    const result = await runCli(['clear-history', '--retention', '30d'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [, printedCutoff] =
      /^deleted 3 kernels, 2 sessions, 6 Redis keys older than (\S+)$/m.exec(result.stdout) ??
      assert.fail(result.stdout);
    assert.ok(Math.abs(Date.parse(printedCutoff) - (Date.now() - 30 * 86_400_000)) < 60_000, printedCutoff);
    const finished = result.lines.find((line) => line.event === 'clear-history.finished');
    assert.deepEqual(
      [finished?.dryRun, finished?.kernels, finished?.sessions, finished?.redisKeys, finished?.cutoff],
      [false, 3, 2, 6, printedCutoff],
    );
    assert.equal(typeof finished?.durationMs, 'number');
    const kept = [running.kernelIds[1], recent.kernelIds[0], oldWithRecentKernel.kernelIds[0]];
    assert.deepEqual(await ids(db, 'kernels'), kept.sort());
    assert.deepEqual(await ids(db, 'sessions'), [running.id, recent.id, oldWithRecentKernel.id].sort());
    assert.deepEqual(
      (await redis.client.keys('*')).sort(),
      [...kept.flatMap(kernelRedisKeys), `keypair.concurrency_used.${accessKey}`].sort(),
    );

    const again = await runCli(['clear-history', '--retention', '30d'], env);
    assert.match(again.stdout, /^deleted 0 kernels, 0 sessions, 0 Redis keys older than/m);
  } finally {
    await Promise.all([db.close(), redis.close()]);
  }
});

test('2500 old kernels go in batches of 1000 with a progress event each, then --vacuum analyses the tables', async () => {
  const [db, redis] = await Promise.all([migratedDatabase(), redisDb()]);
  try {
    const { id } = await session(db, redis, '400 days', []);
    await db.query(
      `INSERT INTO kernels (id, session_id, access_key, terminated_at) SELECT md5(i::text || $1::text)::uuid, $1::uuid, $2, now() - interval '400 days' FROM generate_series(1, 2500) i`,
      [id, accessKey],
    );
    const pipeline = redis.client.pipeline();
    for (const kernelId of await ids(db, 'kernels'))
      for (const key of kernelRedisKeys(kernelId)) pipeline.set(key, 'x');
    await pipeline.exec();
    const result = await runCli(['clear-history', '--retention', '1yr', '--vacuum'], await preflightEnv({ db, redis }));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^deleted 2500 kernels, 1 session, 5000 Redis keys older than/m);
    const progress = result.lines
      .filter((line) => line.event === 'clear-history.progress')
      .map(({ table, deleted, total }) => ({ table, deleted, total }));
    assert.deepEqual(progress, [
      { table: 'kernels', deleted: 1000, total: 1000 },
      { table: 'kernels', deleted: 1000, total: 2000 },
      { table: 'kernels', deleted: 500, total: 2500 },
      { table: 'sessions', deleted: 1, total: 1 },
    ]);
    assert.equal(await redis.client.dbsize(), 0);
    assert.ok(result.lines.some((line) => line.event === 'clear-history.vacuumed'));
    const [stats] = await db.query(
      `SELECT count(*)::int AS analysed FROM pg_stat_user_tables WHERE relname IN ('kernels', 'sessions') AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL`,
    );
    assert.equal(stats.analysed, 2);
  } finally {
    await Promise.all([db.close(), redis.close()]);
  }
});

test('a stop request between batches ends at a safe point with the finished batches committed, and a re-run finishes', async () => {
  const [db, redis] = await Promise.all([migratedDatabase(), redisDb()]);
  try {
    await session(db, redis, '40 days', ['40 days', '40 days', '40 days', '40 days', '40 days']);
    const config = loadConfig({ env: await preflightEnv({ db, redis }), cwd: tempDir(), stdoutIsTty: false });
    const stop = new AbortController();
    const events: LogEvent[] = [];
    const record = (event: LogEvent) => {
      events.push(event);
      if (event.event === 'clear-history.progress') stop.abort('SIGTERM');
    };
    const log: Logger = { error: record, warn: record, info: record, debug: record, redact: (text) => text };
    const options = { cutoff: retentionCutoff('30d', new Date()), batchSize: 2 };
    await assert.rejects(
      clearHistory(config, log, stop.signal, options),
      (error: unknown) => error instanceof PreflightError && error.exitCode === 143 && /safe point/.test(error.message),
    );
    assert.equal((await ids(db, 'kernels')).length, 3, 'the first batch of two committed, nothing after it');
    assert.equal(await redis.client.dbsize(), 6);

    const rest = await clearHistory(config, log, new AbortController().signal, options);
    assert.deepEqual([rest.kernels, rest.sessions, rest.redisKeys, rest.batches], [3, 1, 6, 3]);
    assert.deepEqual([await ids(db, 'kernels'), await ids(db, 'sessions'), await redis.client.dbsize()], [[], [], 0]);
  } finally {
    await Promise.all([db.close(), redis.close()]);
  }
});

test('a missing or bad --retention exits 2 before touching any store', async () => {
  const env = {
    ...(await preflightEnv({ db: { url: 'postgres://postgres:x@127.0.0.1:1/nowhere' } })),
    PREFLIGHT_WAIT_TIMEOUT: '1s',
  };
  const cases: Array<[string[], RegExp]> = [
    [['clear-history'], /--retention is required, e\.g\. --retention 30d/],
    [['clear-history', '--retention=-3d'], /--retention "-3d": it is negative/],
    [['clear-history', '--retention', '-3d'], /--retention/],
    [['clear-history', '--retention', ''], /--retention "": it is empty/],
    [
      ['clear-history', '--retention', '5x'],
      /--retention "5x": unknown unit "x"; expected a positive duration such as 30m/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, env);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    assert.match(String(failureLines(result.lines)[0]?.message), message);
  }
});

test('clear-history exits 65 on a database without the platform tables, and 69 when PostgreSQL is unreachable', async () => {
  const db = await freshDatabase();
  try {
    const missing = await runCli(['clear-history', '--retention', '30d'], await preflightEnv({ db }));
    assert.equal(missing.code, 65);
    assert.equal(
      failureLines(missing.lines)[0]?.message,
      'clear-history: table kernels does not exist — run preflight run first',
    );
    const unreachable = await runCli(['clear-history', '--retention', '30d'], {
      ...(await preflightEnv({ db: { url: 'postgres://postgres:x@127.0.0.1:1/nowhere' } })),
      PREFLIGHT_WAIT_TIMEOUT: '1s',
    });
    assert.equal(unreachable.code, 69);
  } finally {
    await db.close();
  }
});
