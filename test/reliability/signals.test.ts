/**
 * Signals (issue 11): a SIGTERM is proven to clean up, not merely to exit 143: the rollback is
 * logged, and right after the process exits its lock is gone and its sessions are closed (a
 * 30-second statement keeps a backend, and its lock, alive if preflight did not end it itself).
 * The force-exit safety net is tested on its own, with a migration that ignores cancellation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationsDir, recordedMigrations } from '../cli/helpers';
import { freshDatabase, preflightEnv, spawnCli, type TestDatabase } from '../support/context';
import { eventOf, onlyFailure } from './support';

async function advisoryLocks(db: TestDatabase): Promise<unknown[]> {
  return db.query(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
}

/** Runs `preflight run` and sends SIGTERM once a line contains `trigger`. */
async function terminatedRun(env: Record<string, string>, trigger: string) {
  let signalled = false;
  const { result } = spawnCli(['run'], env, {
    onSpawn: (child) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (!signalled && seen.includes(trigger)) {
          signalled = true;
          setTimeout(() => child.kill('SIGTERM'), 300);
        }
      });
    },
  });
  return result;
}

test('SIGTERM mid-migration: rollback logged, lock released by preflight itself, its sessions closed before the process exits', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Slow1800000000001: {
        up: `await queryRunner.query('CREATE TABLE slow (id int)'); await queryRunner.query('SELECT pg_sleep(30)');`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const outcome = await terminatedRun(env, 'migration.started');
    // Checked at once: had preflight left it to the server, pg_sleep(30) would still hold the session and its lock.
    const [locks, sessions] = await Promise.all([
      advisoryLocks(db),
      db.query(
        `SELECT pid, state, query FROM pg_stat_activity WHERE application_name LIKE 'preflight/%' AND datname = current_database()`,
      ),
    ]);
    assert.equal(outcome.code, 143, outcome.stdout + outcome.stderr);
    assert.match(
      onlyFailure(outcome),
      /^interrupted by SIGTERM during migration Slow1800000000001: rolled back, nothing recorded/,
    );
    assert.ok(eventOf(outcome, 'migration.cancelling'), 'the running statement was cancelled');
    assert.ok(eventOf(outcome, 'migration.rolled_back'), 'the rollback was logged');
    assert.ok(eventOf(outcome, 'lock.released'), 'the lock was released by preflight');
    assert.equal(eventOf(outcome, 'job.force_exit'), undefined, 'cleanup finished without the safety net');
    assert.deepEqual(locks, [], 'no advisory lock right after exit');
    assert.deepEqual(
      sessions.filter(
        (session) => session.state === 'active' || String(session.state).startsWith('idle in transaction'),
      ),
      [],
      'no session of preflight still running a statement or holding a transaction',
    );
    assert.deepEqual(await recordedMigrations(db), []);
    assert.deepEqual(await db.query(`SELECT to_regclass('public.slow') AS found`), [{ found: null }]);
  } finally {
    await db.close();
  }
});

test('the force-exit safety net logs its own event when cleanup hangs (a migration that ignores the stop), exit 143', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Stuck1800000000001: {
        up: `await queryRunner.query('CREATE TABLE stuck (id int)'); await new Promise((resolve) => setTimeout(resolve, 20000));`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    const outcome = await terminatedRun(env, 'migration.started');
    assert.equal(outcome.code, 143, outcome.stdout + outcome.stderr);
    const forced = eventOf(outcome, 'job.force_exit');
    assert.ok(forced, outcome.stdout);
    assert.match(String(forced.message), /^cleanup after SIGTERM did not finish within 4500ms/);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});
