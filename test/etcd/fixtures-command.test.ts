import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { suiteNamespace } from './etcd-helpers';
import { yaml } from './temp-fixtures';

const secretFromEnv = 'env-secret-Qw7$$zz';
const literalSecret = 'file-secret-pa$$word';

/** An etcd-only environment (no DATABASE_URL) whose fixtures are `files` in a fresh directory. */
async function fixturesEnv(namespace: string, files: Record<string, string>): Promise<Record<string, string>> {
  const dir = tempDir('preflight-fixtures-cli-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const env = await preflightEnv({ db: { url: 'unused' }, etcd: { namespace } });
  delete env.DATABASE_URL;
  return { ...env, PREFLIGHT_FIXTURES: dir, APP_REDIS_PASSWORD: secretFromEnv };
}

const files = {
  '10-config.yaml': yaml(
    'prefix: config',
    'data:',
    '  redis:',
    '    addr: 127.0.0.1:6379',
    '    auth: ${APP_REDIS_PASSWORD}',
    `    password: ${literalSecret}`,
  ),
  '20-plugins.json': JSON.stringify({ prefix: 'config/plugins', mode: 'create-only', data: { a: { b: 1 } } }),
};

describe('preflight fixtures diff|apply (etcd only, no PostgreSQL)', () => {
  let client: Etcd3;
  /** A namespace of its own for each test, under the one the harness cleans up. */
  const fresh = suiteNamespace('f', (connected) => (client = connected));

  it('diff shows key changes with secrets masked and exits 3; apply writes; then diff exits 0', async () => {
    const ns = fresh();
    await client.put(`${ns}/config/plugins/a/b`).value('operator');
    const env = await fixturesEnv(ns, files);
    const diff = await runCli(['fixtures', 'diff'], env);
    assert.equal(diff.code, 3, diff.stdout + diff.stderr);
    assert.equal(
      diff.stdout,
      [
        '10-config.yaml: 3 changes (mode merge)',
        '  + config/redis/addr = "127.0.0.1:6379"',
        '  + config/redis/auth = ***',
        '  + config/redis/password = ***',
        '20-plugins.json: etcd already holds every key; apply records the file as applied',
        '',
      ].join('\n'),
    );
    for (const output of [diff.stdout, diff.stderr]) {
      assert.ok(!output.includes('env-secret') && !output.includes('file-secret'), 'no secret is printed');
    }
    assert.deepEqual(await client.getAll().prefix(`${ns}/`).keys(), [`${ns}/config/plugins/a/b`], 'diff wrote nothing');

    const apply = await runCli(['fixtures', 'apply'], env);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal(await client.get(`${ns}/config/redis/auth`).string(), secretFromEnv);
    assert.equal(await client.get(`${ns}/config/redis/password`).string(), literalSecret);
    assert.equal(await client.get(`${ns}/config/plugins/a/b`).string(), 'operator');

    const again = await runCli(['fixtures', 'diff'], env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(again.stdout, '10-config.yaml: unchanged\n20-plugins.json: unchanged\n');
  });

  it('8 concurrent `fixtures apply` processes all exit 0 and write every key exactly once', async () => {
    const ns = fresh();
    const big: Record<string, Record<string, string>> = {};
    for (let group = 0; group < 4; group += 1) {
      big[`g${group}`] = Object.fromEntries(Array.from({ length: 100 }, (_, index) => [`k${index}`, `v${index}`]));
    }
    const env = await fixturesEnv(ns, { ...files, '30-big.json': JSON.stringify({ prefix: 'big', data: big }) });
    const results = await Promise.all(Array.from({ length: 8 }, () => runCli(['fixtures', 'apply'], env)));
    for (const result of results) assert.equal(result.code, 0, result.stdout + result.stderr);
    const { kvs } = await client.kv.range({ key: Buffer.from(`${ns}/`), range_end: Buffer.from(`${ns}0`) });
    assert.equal(kvs.length, 3 + 1 + 400 + 3, 'every key and one hash record per file');
    assert.deepEqual(
      kvs.filter((kv) => kv.version !== '1').map((kv) => kv.key.toString()),
      [],
      'no key was written twice',
    );
    const applied = results.flatMap((result) => result.lines.filter((line) => line.event === 'fixtures.file.applied'));
    assert.ok(applied.length >= 3 && applied.length < 24, `${applied.length} file applies over 8 processes`);
  });

  it('refuses without ETCD_ENDPOINTS (78) and an unknown action (2)', async () => {
    const env = await fixturesEnv(fresh(), files);
    const noEtcd = { ...env };
    for (const name of ['ETCD_ENDPOINTS', 'ETCD_NAMESPACE', 'ETCD_USERNAME', 'ETCD_PASSWORD']) delete noEtcd[name];
    const missing = await runCli(['fixtures', 'apply'], noEtcd);
    assert.equal(missing.code, 78);
    assert.match(missing.stdout, /ETCD_ENDPOINTS is not set/);
    const unknown = await runCli(['fixtures', 'push'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stdout + unknown.stderr, /expected diff or apply, got push/);
  });

  it('status reports whether fixtures are in sync; run --dry-run prints the plan and the changes and writes nothing', async () => {
    const ns = fresh();
    const db = await freshDatabase();
    try {
      const env = { ...(await fixturesEnv(ns, files)), DATABASE_URL: db.url };
      const dry = await runCli(['run', '--dry-run'], env);
      assert.equal(dry.code, 3, dry.stdout + dry.stderr);
      assert.match(dry.stdout, /^migrations: 0 applied, \d+ pending\n {2}pending /);
      assert.match(
        dry.stdout,
        /\nfixtures:\n {2}10-config\.yaml: 3 changes \(mode merge\)\n {4}\+ config\/redis\/addr/,
      );
      assert.match(dry.stdout, /dry run: nothing was written\n$/);
      assert.deepEqual(await client.getAll().prefix(`${ns}/`).keys(), []);
      assert.deepEqual(await db.query(`SELECT to_regclass('public.migrations') AS t`), [{ t: null }]);

      const applied = await runCli(['run'], { ...env, PREFLIGHT_REPORT_FILE: 'none' });
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      const inSync = await runCli(['status', '--json'], env);
      assert.equal(inSync.code, 0, inSync.stdout + inSync.stderr);
      assert.deepEqual(JSON.parse(inSync.stdout).fixtures, { state: 'in-sync', changedFiles: [], puts: 0, deletes: 0 });
      const dryInSync = await runCli(['run', '--dry-run'], env);
      assert.equal(dryInSync.code, 0, dryInSync.stdout + dryInSync.stderr);

      const changed = { ...env, APP_REDIS_PASSWORD: 'another-secret' };
      const pending = await runCli(['status', '--json'], changed);
      assert.equal(pending.code, 3, pending.stdout + pending.stderr);
      assert.deepEqual(JSON.parse(pending.stdout).fixtures, {
        state: 'changes',
        changedFiles: ['10-config.yaml'],
        puts: 1,
        deletes: 0,
      });
      const verify = await runCli(['verify'], changed);
      assert.equal(verify.code, 0, 'verify is about the database only');
    } finally {
      await db.close();
    }
  });
});
