import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { etcdNamespace, freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const failureOf = (result: { lines: Array<Record<string, unknown>> }) => String(failureLines(result.lines)[0]?.message);
const eventsOf = (result: { lines: Array<Record<string, unknown>> }, event: string) =>
  result.lines.filter((line) => line.event === event);

function writeFiles(files: Record<string, string>): string {
  const dir = tempDir('preflight-own-');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

test('zero migrations found is never a silent success: 65 says what the directory holds, PREFLIGHT_ALLOW_EMPTY=true allows it', async () => {
  const db = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    const cases: Array<[string, string, RegExp]> = [
      [
        writeFiles({ '1800000000001-First.ts': 'export class First1800000000001 {}' }),
        '',
        /only \.ts sources \(1\): compile them first/,
      ],
      [
        writeFiles({ 'package.json': '{}', 'tsconfig.json': '{}', 'src/index.ts': '' }),
        '',
        /a project root: point at the compiled migrations directory/,
      ],
      [writeFiles({ 'README.md': '# notes' }), '', /no \*\.js files \(found README\.md\)/],
      [writeFiles({}), '', /an empty directory/],
      [writeFiles({ 'helpers.js': 'exports.x = 1;' }), '', /1 \*\.js file, none exporting a migration class/],
    ];
    for (const [dir, , reason] of cases) {
      for (const command of ['run', 'status']) {
        const result = await runCli([command], { ...env, PREFLIGHT_MIGRATIONS: dir });
        assert.equal(result.code, 65, `${command} ${dir}: ${result.stdout}`);
        assert.match(failureOf(result), new RegExp(`^PREFLIGHT_MIGRATIONS: no migration found in ${dir}: `));
        assert.match(failureOf(result), reason);
        assert.match(failureOf(result), /set PREFLIGHT_ALLOW_EMPTY=true if none is intended/);
      }
    }
    assert.deepEqual(await recordedMigrations(db), [], 'nothing was written');
    const allowed = await runCli(['run'], {
      ...env,
      PREFLIGHT_MIGRATIONS: writeFiles({}),
      PREFLIGHT_ALLOW_EMPTY: 'true',
    });
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.equal(eventsOf(allowed, 'migrations.none').length, 1);
  } finally {
    await db.close();
  }
});

test('an explicitly set fixtures directory that does not exist is a configuration error (78), before any write', async () => {
  const db = await freshDatabase();
  try {
    const env = {
      ...(await preflightEnv({ db })),
      PREFLIGHT_MIGRATIONS: migrationsDir({
        First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
      }),
      PREFLIGHT_FIXTURES: '/nonexistent/fixtures',
    };
    const result = await runCli(['run'], env);
    assert.equal(result.code, 78, result.stdout);
    assert.match(
      failureOf(result),
      /^PREFLIGHT_FIXTURES: \/nonexistent\/fixtures does not exist \(ENOENT\): fix the path, or set PREFLIGHT_FIXTURES=off/,
    );
    assert.deepEqual(await recordedMigrations(db), []);
  } finally {
    await db.close();
  }
});

test("the platform's fixtures without etcd configured earn a warning, unless PREFLIGHT_FIXTURES=off says so on purpose", async () => {
  const db = await freshDatabase();
  try {
    const env = await preflightEnv({ db });
    const warned = await runCli(['run'], env, { timeoutMs: 120_000 });
    assert.equal(warned.code, 0, warned.stdout.slice(-2000));
    const [warning] = eventsOf(warned, 'fixtures.no_etcd');
    assert.equal(warning?.level, 'warn');
    assert.match(String(warning?.message), /ETCD_ENDPOINTS is not set.*PREFLIGHT_FIXTURES=off/);
    const quiet = await runCli(['run'], { ...env, PREFLIGHT_FIXTURES: 'off' });
    assert.equal(quiet.code, 0, quiet.stdout);
    assert.equal(eventsOf(quiet, 'fixtures.no_etcd').length, 0);
  } finally {
    await db.close();
  }
});

test("with PREFLIGHT_MIGRATIONS and etcd configured, the platform's fixtures stay off; PREFLIGHT_FIXTURES turns a directory on", async () => {
  const [db, etcd] = await Promise.all([freshDatabase(), etcdNamespace()]);
  try {
    const env = {
      ...(await preflightEnv({ db, etcd })),
      PREFLIGHT_MIGRATIONS: migrationsDir({
        First1800000000001: { up: `await queryRunner.query('CREATE TABLE first (id int)');` },
      }),
    };
    const own = await runCli(['run'], env);
    assert.equal(own.code, 0, own.stdout);
    const finished = eventsOf(own, 'job.finished')[0] as { steps: Record<string, string> };
    assert.equal(finished.steps.fixtures, 'skipped');
    const fixtures = writeFiles({ '10-app.yaml': 'prefix: app\ndata:\n  greeting: hello\n' });
    const asked = await runCli(['run'], { ...env, PREFLIGHT_FIXTURES: fixtures });
    assert.equal(asked.code, 0, asked.stdout);
    assert.equal((eventsOf(asked, 'job.finished')[0] as { steps: Record<string, string> }).steps.fixtures, 'applied');
  } finally {
    await Promise.all([db.close(), etcd.close()]);
  }
});
