import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDatabase, preflightEnv, runCli, tempDir, type TestDatabase } from '../support/context';
import { failureLines, recordedMigrations } from './helpers';

/**
 * Issue 15: the no-op plans from file hashes. The ledger remembers, per applied migration, the
 * compiled file it came from (name, hash, how many migrations it exports), so a run that finds every
 * file unchanged loads no migration module. Each file here appends its name to a marker file when
 * it is loaded, which is how the tests see what was loaded.
 */
function migrationFile(dir: string, base: string, classes: Array<{ name: string; table: string }>): void {
  const body = classes
    .map(
      ({ name, table }) =>
        `exports.${name} = class ${name} { async up(q) { await q.query('CREATE TABLE ${table} (id int)'); } async down(q) { await q.query('DROP TABLE ${table}'); } };`,
    )
    .join('\n');
  fs.writeFileSync(
    path.join(dir, `${base}.js`),
    `require('fs').appendFileSync(process.env.LOAD_MARKER, ${JSON.stringify(`${base}\n`)});\n${body}\n`,
  );
}

async function setUp(db: TestDatabase) {
  const dir = tempDir('preflight-known-');
  const marker = path.join(tempDir('preflight-marker-'), 'loaded.txt');
  migrationFile(dir, '1800000000001-First', [{ name: 'First1800000000001', table: 'first' }]);
  migrationFile(dir, '1800000000002-Second', [{ name: 'Second1800000000002', table: 'second' }]);
  const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir, LOAD_MARKER: marker };
  const loaded = (): string[] => {
    const text = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : '';
    fs.rmSync(marker, { force: true });
    return text.split('\n').filter(Boolean).sort();
  };
  return { dir, env, loaded };
}

test('a no-op run loads no migration module: the ledger remembers each applied file by its hash', async () => {
  const db = await freshDatabase();
  try {
    const { env, loaded } = await setUp(db);
    const first = await runCli(['run'], env);
    assert.equal(first.code, 0, first.stdout);
    assert.deepEqual(loaded(), ['1800000000001-First', '1800000000002-Second']);
    const rows = await db.query(`SELECT name, file, file_migrations FROM preflight_migrations ORDER BY name`);
    assert.deepEqual(rows, [
      { name: 'First1800000000001', file: '1800000000001-First.js', file_migrations: 1 },
      { name: 'Second1800000000002', file: '1800000000002-Second.js', file_migrations: 1 },
    ]);
    const noop = await runCli(['run'], env);
    assert.equal(noop.code, 0, noop.stdout);
    assert.deepEqual(loaded(), []);
    assert.ok(noop.lines.some((line) => line.event === 'plan.ready' && line.applied === 2 && line.pending === 0));
    // status and verify still load and checksum every file: they are where drift is looked for in full
    assert.equal((await runCli(['verify'], env)).code, 0);
    assert.deepEqual(loaded(), ['1800000000001-First', '1800000000002-Second']);
  } finally {
    await db.close();
  }
});

test('an edited file is loaded again and its drift refused (65), run after run', async () => {
  const db = await freshDatabase();
  try {
    const { dir, env, loaded } = await setUp(db);
    assert.equal((await runCli(['run'], env)).code, 0);
    loaded();
    const file = path.join(dir, '1800000000001-First.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('(id int)', '(id bigint)'));
    for (let run = 0; run < 2; run++) {
      const refused = await runCli(['run'], env);
      assert.equal(refused.code, 65, refused.stdout);
      assert.match(String(failureLines(refused.lines)[0]?.message), /First1800000000001 changed after it was applied/);
      assert.deepEqual(loaded(), ['1800000000001-First']);
    }
  } finally {
    await db.close();
  }
});

test('a second migration added to a remembered file is found and applied; one reverted is found pending', async () => {
  const db = await freshDatabase();
  try {
    const { dir, env, loaded } = await setUp(db);
    assert.equal((await runCli(['run'], env)).code, 0);
    loaded();
    migrationFile(dir, '1800000000002-Second', [
      { name: 'Second1800000000002', table: 'second' },
      { name: 'Third1800000000003', table: 'third' },
    ]);
    // The file's hash changed, so it is loaded: Second's checksum (of the compiled file, there is no
    // source map) differs, which is drift until accepted; then Third is pending.
    const grown = await runCli(['run'], env);
    assert.equal(grown.code, 65, grown.stdout);
    await runCli(['repair', '--accept-checksum', 'Second1800000000002'], env).then((result) =>
      assert.equal(result.code, 0, result.stdout),
    );
    loaded();
    const applied = await runCli(['run'], env);
    assert.equal(applied.code, 0, applied.stdout);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002', 'Third1800000000003']);
    loaded();
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.deepEqual(loaded(), []);
    // One of the file's two migrations leaves the ledger: the file is no longer fully known
    const reverted = await runCli(['down', '--yes'], env);
    assert.equal(reverted.code, 0, reverted.stdout);
    loaded();
    const again = await runCli(['run'], env);
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(loaded(), ['1800000000002-Second']);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002', 'Third1800000000003']);
  } finally {
    await db.close();
  }
});

test('a ledger written before these columns is upgraded by the next run, which then stays module-free', async () => {
  const db = await freshDatabase();
  try {
    const { env, loaded } = await setUp(db);
    assert.equal((await runCli(['run'], env)).code, 0);
    await db.query(
      'ALTER TABLE preflight_migrations DROP COLUMN file, DROP COLUMN compiled_checksum, DROP COLUMN file_migrations',
    );
    loaded();
    const upgrading = await runCli(['run'], env);
    assert.equal(upgrading.code, 0, upgrading.stdout);
    assert.deepEqual(loaded(), ['1800000000001-First', '1800000000002-Second']);
    const noop = await runCli(['run'], env);
    assert.equal(noop.code, 0, noop.stdout);
    assert.deepEqual(loaded(), []);
  } finally {
    await db.close();
  }
});
