/**
 * Instances that start while another holds the job lock wait for it shared (issue 15): they only
 * read, all at once, and one that finds something to write takes the lock exclusively first. A test
 * session holding the lock shared stands in for instances that are still reading.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { lockKeys } from '../../src/postgres/advisory-lock';
import {
  etcdNamespace,
  freshDatabase,
  preflightEnv,
  runCli,
  spawnCli,
  tempDir,
  type CliResult,
  type TestDatabase,
} from '../support/context';
import { platformMigrationNames, recordedMigrations } from './helpers';

interface ReportStep {
  step: string;
  status: string;
  details?: Record<string, unknown>;
}

/** A session holding the job lock of `db` in the shared mode, as a reading instance would. */
async function sharedHolder(db: TestDatabase): Promise<{ release(): Promise<void>; end(): Promise<void> }> {
  const client = new Client({ connectionString: db.url, application_name: 'reading-instance' });
  await client.connect();
  const keys = lockKeys(db.name, 'public', 'migrations');
  await client.query('SELECT pg_advisory_lock_shared($1, $2)', keys);
  return {
    release: async () => void (await client.query('SELECT pg_advisory_unlock_shared($1, $2)', keys)),
    end: () => client.end(),
  };
}

/** `preflight run` while `holder` reads; the reader lets go only once the run has said it needs the lock exclusively. */
async function runReleasingOnUpgrade(
  env: Record<string, string>,
  holder: { release(): Promise<void> },
): Promise<CliResult> {
  let released: Promise<void> | undefined;
  const { child, result } = spawnCli(['run'], env);
  child.stdout?.on('data', (chunk: Buffer) => {
    if (!released && chunk.toString().includes('"lock.upgrading"')) released = holder.release();
  });
  const finished = await result;
  await released;
  return finished;
}

function reportSteps(file: string): ReportStep[] {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { steps: ReportStep[] }).steps;
}

test('the lock held shared by another instance: a no-op reads alongside it and exits 0 without waiting', async () => {
  const db = await freshDatabase();
  const report = path.join(tempDir(), 'report.json');
  const env = { ...(await preflightEnv({ db })), PREFLIGHT_REPORT_FILE: report };
  const first = await runCli(['run'], env);
  assert.equal(first.code, 0, first.stdout);
  const holder = await sharedHolder(db);
  try {
    // The holder keeps its shared lock for the whole run: the run can only finish by sharing it.
    const result = await runCli(['run'], env);
    assert.equal(result.code, 0, result.stdout);
    const acquired = result.lines.find((line) => line.event === 'lock.acquired');
    assert.equal(acquired?.mode, 'shared', result.stdout);
    assert.ok(!result.lines.some((line) => line.event === 'lock.upgrading'), result.stdout);
    const steps = reportSteps(report);
    assert.deepEqual(
      steps.map(({ step, status }) => `${step}:${status}`),
      [
        'wait:applied',
        'check:applied',
        'lock:applied',
        'plan:applied',
        'backup:skipped',
        'migrate:unchanged',
        'seed:skipped',
        'fixtures:skipped',
      ],
    );
    assert.equal(steps.find((step) => step.step === 'lock')?.details?.mode, 'shared');
  } finally {
    await holder.end();
    await db.close();
  }
});

test('the lock held shared and migrations pending: the run takes it exclusively once the readers are gone, plans again and applies each migration once', async () => {
  const db = await freshDatabase();
  const report = path.join(tempDir(), 'report.json');
  const env = { ...(await preflightEnv({ db })), PREFLIGHT_REPORT_FILE: report, PREFLIGHT_LOCK_TIMEOUT: '60s' };
  const holder = await sharedHolder(db);
  try {
    const result = await runReleasingOnUpgrade(env, holder);
    assert.equal(result.code, 0, result.stdout);
    const events = result.lines.map((line) => String(line.event));
    const upgrading = result.lines.find((line) => line.event === 'lock.upgrading');
    assert.match(String(upgrading?.reason), /^\d+ migration\(s\) to apply or record$/, result.stdout);
    const acquisitions = result.lines.filter((line) => line.event === 'lock.acquired');
    assert.deepEqual(
      acquisitions.map((line) => line.mode ?? 'exclusive'),
      ['shared', 'exclusive'],
    );
    assert.ok(
      events.indexOf('lock.upgrading') < events.indexOf('plan.ready'),
      'nothing was planned under the shared lock',
    );
    assert.deepEqual(await recordedMigrations(db), platformMigrationNames());
    const steps = reportSteps(report);
    assert.deepEqual(
      steps.map(({ step }) => step),
      ['wait', 'check', 'lock', 'plan', 'backup', 'migrate', 'seed', 'fixtures'],
      'each step once in the report',
    );
    assert.equal(steps.find((step) => step.step === 'lock')?.details?.upgradedFrom, 'shared');
    assert.equal(steps.find((step) => step.step === 'migrate')?.status, 'applied');
  } finally {
    await holder.end();
    await db.close();
  }
});

test('the lock held shared and a fixture file changed: the run upgrades before its first etcd write, and writes it once', async () => {
  const [db, etcd] = await Promise.all([freshDatabase(), etcdNamespace()]);
  const env = { ...(await preflightEnv({ db, etcd })), STORAGE_MOUNT: '/mnt/vfroot', PREFLIGHT_LOCK_TIMEOUT: '60s' };
  const migrated = await runCli(['run'], { ...env, PREFLIGHT_FIXTURES: 'off' });
  assert.equal(migrated.code, 0, migrated.stdout);
  const holder = await sharedHolder(db);
  try {
    const result = await runReleasingOnUpgrade(env, holder);
    assert.equal(result.code, 0, result.stdout);
    const upgrading = result.lines.find((line) => line.event === 'lock.upgrading');
    assert.match(String(upgrading?.reason), /^fixture file \S+\.yaml to apply$/, result.stdout);
    const applied = result.lines.filter((line) => line.event === 'fixtures.file.applied').map((line) => line.file);
    assert.ok(applied.length > 0, result.stdout);
    assert.equal(new Set(applied).size, applied.length, 'each fixture file written once');
  } finally {
    await holder.end();
    await Promise.all([db.close(), etcd.close()]);
  }
});
