import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const failureOf = (result: { lines: Array<Record<string, unknown>> }) => String(failureLines(result.lines)[0]?.message);

test('a migration edited after it was applied is refused with 65 naming it, and nothing else runs', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    const [ledger] = await db.query(
      'SELECT checksum, applied_by, preflight_version, adopted FROM preflight_migrations',
    );
    assert.match(String(ledger.checksum), /^[0-9a-f]{64}$/);
    assert.equal(ledger.adopted, false);
    const file = path.join(dir, fs.readdirSync(dir)[0]);
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace('CREATE TABLE first (id int)', 'CREATE TABLE first (id bigint)'),
    );
    fs.writeFileSync(
      path.join(dir, '1800000000002-Second.js'),
      `exports.S = class Second1800000000002 { async up(q) { await q.query('CREATE TABLE second (id int)'); } async down() {} };\n`,
    );
    const result = await runCli(['run'], env);
    assert.equal(result.code, 65);
    assert.match(failureOf(result), /^migration First1800000000001 changed after it was applied \(checksum differs\)/);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001']);
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 65);
    assert.deepEqual(JSON.parse(status.stdout).drifted, ['First1800000000001']);
  } finally {
    await db.close();
  }
});

test('line endings and trailing whitespace do not count as an edit', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    const file = path.join(dir, fs.readdirSync(dir)[0]);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\n/g, '  \r\n') + '\r\n\r\n');
    assert.equal((await runCli(['verify'], env)).code, 0);
  } finally {
    await db.close();
  }
});

test('migrations applied but unknown to the build are refused unless PREFLIGHT_ALLOW_UNKNOWN=true', async () => {
  const db = await freshDatabase();
  try {
    const both = migrationsDir({
      First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
      Newer1800000000009: { up: `await queryRunner.query('CREATE TABLE newer (id int)');` },
    });
    assert.equal((await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: both })).code, 0);
    const older = migrationsDir({
      First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: older };
    const refused = await runCli(['run'], env);
    assert.equal(refused.code, 65);
    assert.match(
      failureOf(refused),
      /the database has applied Newer1800000000009, which this build does not know.*PREFLIGHT_ALLOW_UNKNOWN=true/,
    );
    const allowed = await runCli(['run'], { ...env, PREFLIGHT_ALLOW_UNKNOWN: 'true' });
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.ok(allowed.lines.some((line) => line.event === 'plan.unknown_applied'));
  } finally {
    await db.close();
  }
});

test('a pending migration older than the newest applied is refused unless PREFLIGHT_ALLOW_OUT_OF_ORDER=true', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      Newer1800000000009: { up: `await queryRunner.query('CREATE TABLE newer (id int)');` },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    fs.writeFileSync(
      path.join(dir, '1800000000005-Older.js'),
      `exports.O = class Older1800000000005 { async up(q) { await q.query('CREATE TABLE older (id int)'); } async down() {} };\n`,
    );
    const refused = await runCli(['run'], env);
    assert.equal(refused.code, 65);
    assert.match(
      failureOf(refused),
      /pending migration Older1800000000005 is older than the newest applied one \(Newer1800000000009\).*PREFLIGHT_ALLOW_OUT_OF_ORDER=true/,
    );
    assert.deepEqual(await recordedMigrations(db), ['Newer1800000000009']);
    const allowed = await runCli(['run'], { ...env, PREFLIGHT_ALLOW_OUT_OF_ORDER: 'true' });
    assert.equal(allowed.code, 0);
    assert.deepEqual(await recordedMigrations(db), ['Newer1800000000009', 'Older1800000000005']);
  } finally {
    await db.close();
  }
});

test('two migrations with the same timestamp, or a name without one, are refused with 65', async () => {
  const db = await freshDatabase();
  try {
    const twins = migrationsDir({
      One1800000000001: { up: `await queryRunner.query('SELECT 1');` },
      Two1800000000001: { up: `await queryRunner.query('SELECT 1');` },
    });
    const result = await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: twins });
    assert.equal(result.code, 65);
    assert.match(failureOf(result), /migrations One1800000000001 .* and Two1800000000001 .* share a name or timestamp/);
    const nameless = tempDir();
    fs.writeFileSync(path.join(nameless, 'x.js'), `exports.X = class AddThings { async up() {} async down() {} };\n`);
    const bad = await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: nameless });
    assert.equal(bad.code, 65);
    assert.match(failureOf(bad), /migration AddThings in x\.js has no 13-digit timestamp/);
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test('down reverts the last migration, down --to NAME every one after NAME, each with its records; a missing down() is refused', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({
      A1800000000001: {
        up: `await queryRunner.query('CREATE TABLE a (id int)');`,
        down: `await queryRunner.query('DROP TABLE a');`,
      },
      B1800000000002: {
        up: `await queryRunner.query('CREATE TABLE b (id int)');`,
        down: `await queryRunner.query('DROP TABLE b');`,
      },
      C1800000000003: {
        up: `await queryRunner.query('CREATE TABLE c (id int)');`,
        down: `await queryRunner.query('DROP TABLE c');`,
      },
      D1800000000004: {
        up: `await queryRunner.query('CREATE TABLE d (id int)');`,
        down: `await queryRunner.query('DROP TABLE d');`,
      },
    });
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.equal((await runCli(['down', '--yes'], env)).code, 0);
    assert.deepEqual(await recordedMigrations(db), ['A1800000000001', 'B1800000000002', 'C1800000000003']);
    assert.deepEqual(await db.query(`SELECT to_regclass('d') AS found`), [{ found: null }]);
    assert.equal((await db.query('SELECT count(*)::int AS n FROM preflight_migrations'))[0].n, 3);
    assert.equal((await runCli(['down', '--to', 'A1800000000001', '--yes'], env)).code, 0);
    assert.deepEqual(await recordedMigrations(db), ['A1800000000001']);
    const unknownTarget = await runCli(['down', '--to', 'Nope1800000000000', '--yes'], env);
    assert.equal(unknownTarget.code, 2);
    assert.equal((await runCli(['down', 'two'], env)).code, 2);
    fs.writeFileSync(
      path.join(dir, '1800000000001-A.js'),
      `exports.A = class A1800000000001 { async up(q) { await q.query('CREATE TABLE a (id int)'); } };\n`,
    );
    const noDown = await runCli(['down', '--yes'], { ...env });
    assert.equal(noDown.code, 65, noDown.stdout);
    assert.deepEqual(await recordedMigrations(db), ['A1800000000001']);
  } finally {
    await db.close();
  }
});

test('create scaffolds a migration that builds and runs; manifest records a directory for the no-load fast path', async () => {
  const db = await freshDatabase();
  try {
    const project = tempDir();
    const created = await runCli(
      ['create', 'add users-index', '--dir', 'src/migrations'],
      { PATH: process.env.PATH ?? '' },
      { cwd: project },
    );
    assert.equal(created.code, 0, created.stdout + created.stderr);
    const [file, ...nextSteps] = created.stdout.trim().split('\n');
    assert.match(
      nextSteps.join('\n'),
      /^Next:\n.*write up\(\) and its exact undo in down\(\).*\n.*compile it.*\n.*preflight status.*\n.*preflight run/s,
    );
    assert.match(path.basename(file), /^\d{13}-AddUsersIndex\.ts$/);
    const timestamp = path.basename(file).slice(0, 13);
    assert.match(
      fs.readFileSync(file, 'utf8'),
      new RegExp(`export class AddUsersIndex${timestamp} implements MigrationInterface`),
    );
    assert.equal((await runCli(['create', '9lives'], { PATH: process.env.PATH ?? '' }, { cwd: project })).code, 2);

    const dir = migrationsDir({
      First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
    });
    const manifest = await runCli(['manifest', dir], { PATH: process.env.PATH ?? '' });
    assert.equal(manifest.code, 0, manifest.stderr);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'preflight-manifest.json'), 'utf8'));
    assert.deepEqual(
      written.migrations.map((entry: { name: string }) => entry.name),
      ['First1800000000001'],
    );
    assert.equal((await runCli(['run'], { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir })).code, 0);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001']);
  } finally {
    await db.close();
  }
});
