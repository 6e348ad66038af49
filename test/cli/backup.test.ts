import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { findPgTool, runPgTool, type PgTool } from '../../src/postgres/pg-tools';
import { freshDatabase, preflightEnv, runCli, spawnCli, tempDir, testStack } from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const first = {
  First1800000000001: {
    up: `await queryRunner.query('CREATE TABLE first (id int)'); await queryRunner.query('INSERT INTO first SELECT generate_series(1, 1000)');`,
  },
};
const second = { ...first, Second1800000000002: { up: `await queryRunner.query('CREATE TABLE second (id int)');` } };

/** Runs pg_dump / pg_restore / psql from this machine against `database` of the test server, as the tests' superuser. */
async function pgTool(tool: PgTool, args: string[], database: string): Promise<void> {
  const { postgres } = await testStack();
  const program = findPgTool(tool, process.env.PATH);
  assert.ok(program, `${tool} not found`);
  const settings = {
    host: postgres.host,
    port: postgres.port,
    user: postgres.user,
    password: postgres.password,
    database,
    sslMode: 'disable' as const,
  };
  const result = await runPgTool(
    program,
    args,
    { settings, applicationName: 'preflight-test' },
    { PATH: process.env.PATH },
    new AbortController().signal,
  );
  assert.equal(result.exitCode, 0, result.stderr);
}

async function tables(db: { query(sql: string): Promise<Array<Record<string, unknown>>> }): Promise<string[]> {
  return (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((row) =>
    String(row.tablename),
  );
}

test('with PREFLIGHT_BACKUP_DIR and migrations pending, a custom-format dump of the state before them is written first, and it restores', async (t) => {
  const db = await freshDatabase();
  const copy = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    assert.equal((await runCli(['run'], { ...env, PREFLIGHT_MIGRATIONS: migrationsDir(first) })).code, 0);
    const backupDir = path.join(tempDir('preflight-backup-'), 'nested', 'backups');
    const result = await runCli(['run'], {
      ...env,
      PREFLIGHT_MIGRATIONS: migrationsDir(second),
      PREFLIGHT_BACKUP_DIR: backupDir,
    });
    assert.equal(result.code, 0, result.stdout);

    const files = fs.readdirSync(backupDir);
    assert.equal(files.length, 1, `exactly one file, no leftover .partial: ${files.join(', ')}`);
    assert.match(files[0], new RegExp(`^${db.name}-\\d{8}T\\d{6}Z\\.dump$`));
    const file = path.join(backupDir, files[0]);
    assert.equal(fs.readFileSync(file).subarray(0, 5).toString(), 'PGDMP', 'custom format');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'readable by its owner only');

    const events = result.lines.map((line) => line.event);
    assert.ok(
      events.indexOf('backup.finished') < events.indexOf('migration.started'),
      'the backup is complete before the first migration starts',
    );
    const finished = result.lines.find((line) => line.event === 'backup.finished');
    assert.equal(finished?.file, file);
    assert.equal(finished?.sizeBytes, fs.statSync(file).size);
    t.diagnostic(
      `backup of the test database: ${String(finished?.sizeBytes)} bytes in ${String(finished?.durationMs)} ms`,
    );

    await pgTool('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', copy.name, file], copy.name);
    assert.deepEqual(
      await tables(copy),
      ['first', 'migrations', 'preflight_migrations'],
      'the copy has the state before Second ran',
    );
    assert.deepEqual(await recordedMigrations(copy), ['First1800000000001']);
    assert.deepEqual(await copy.query('SELECT count(*)::int AS rows FROM first'), [{ rows: 1000 }]);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002']);
  } finally {
    await Promise.all([db.close(), copy.close()]);
  }
});

test('no backup is taken when nothing is pending', async () => {
  const db = await freshDatabase();
  try {
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrationsDir(first) };
    assert.equal((await runCli(['run'], env)).code, 0);
    const backupDir = path.join(tempDir('preflight-backup-'), 'backups');
    const result = await runCli(['run'], { ...env, PREFLIGHT_BACKUP_DIR: backupDir });
    assert.equal(result.code, 0, result.stdout);
    assert.equal(fs.existsSync(backupDir), false);
    assert.equal(
      result.lines.some((line) => line.event === 'backup.started'),
      false,
    );
  } finally {
    await db.close();
  }
});

test('a backup directory that cannot be created fails the job with 70, and no migration is applied', async () => {
  const db = await freshDatabase();
  try {
    const blocker = path.join(tempDir('preflight-backup-'), 'a-file');
    fs.writeFileSync(blocker, 'not a directory');
    const backupDir = path.join(blocker, 'backups');
    const result = await runCli(['run'], {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir(second),
      PREFLIGHT_BACKUP_DIR: backupDir,
    });
    assert.equal(result.code, 70, result.stdout);
    const [failure] = failureLines(result.lines);
    assert.match(
      String(failure.message),
      new RegExp(
        `^backup of database ${db.name} to ${backupDir} failed: cannot create the directory .*ENOTDIR.* — no migration was applied$`,
      ),
    );
    assert.deepEqual(await recordedMigrations(db), []);
    assert.deepEqual(await tables(db), []);
  } finally {
    await db.close();
  }
});

test("a failing pg_dump fails the job with 70 quoting pg_dump's error, leaves no partial file, and applies nothing", async () => {
  const db = await freshDatabase();
  const role = `backup_${db.name}`;
  const password = 'not-a-sentinel-pw';
  try {
    // A table the migration role may not read: pg_dump fails on it.
    await db.query('CREATE TABLE hidden (id int)');
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
    const { postgres } = await testStack();
    const url = `postgres://${role}:${password}@${postgres.host}:${postgres.port}/${db.name}`;
    const backupDir = tempDir('preflight-backup-');
    const result = await runCli(['run'], {
      ...(await preflightEnv({ db: { url } })),
      PREFLIGHT_MIGRATIONS: migrationsDir(second),
      PREFLIGHT_BACKUP_DIR: backupDir,
    });
    assert.equal(result.code, 70, result.stdout);
    const message = String(failureLines(result.lines)[0].message);
    assert.match(
      message,
      /^backup of database .* failed: pg_dump: error: .*permission denied for table hidden.* — no migration was applied$/,
    );
    assert.equal(result.stdout.includes(password), false, 'the password is never printed');
    assert.deepEqual(fs.readdirSync(backupDir), []);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.query(`DROP OWNED BY ${role}`);
    await db.query(`DROP ROLE ${role}`);
    await db.close();
  }
});

test('SIGTERM during the backup stops pg_dump, removes the partial file and exits 143 with nothing applied', async () => {
  const db = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    assert.equal((await runCli(['run'], { ...env, PREFLIGHT_MIGRATIONS: migrationsDir(first) })).code, 0);
    // pg_dump waits for this lock, so the backup is still running when the signal comes.
    await db.query('BEGIN');
    await db.query('LOCK TABLE first IN ACCESS EXCLUSIVE MODE');
    const backupDir = tempDir('preflight-backup-');
    let killedAt = 0;
    const { result } = spawnCli(
      ['run'],
      { ...env, PREFLIGHT_MIGRATIONS: migrationsDir(second), PREFLIGHT_BACKUP_DIR: backupDir },
      {
        onSpawn: (child) => {
          child.stdout?.on('data', (chunk: Buffer) => {
            if (!killedAt && chunk.toString().includes('backup.started')) {
              killedAt = Date.now();
              setTimeout(() => child.kill('SIGTERM'), 500);
            }
          });
        },
      },
    );
    const outcome = await result;
    await db.query('ROLLBACK');
    assert.equal(outcome.code, 143, outcome.stdout);
    assert.ok(Date.now() - killedAt < 5500, 'stopped within 5 seconds of the signal');
    assert.match(String(failureLines(outcome.lines)[0].message), /interrupted by SIGTERM/);
    assert.deepEqual(fs.readdirSync(backupDir), []);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001']);
  } finally {
    await db.close();
  }
});
