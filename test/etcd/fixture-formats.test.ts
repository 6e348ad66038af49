import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PreflightError } from '../../src/core/errors';
import { loadFixtureFiles } from '../../src/etcd/fixture-file';
import { fixtureDir, yaml } from './temp-fixtures';

async function rejection(dir: string, env: Record<string, string> = {}): Promise<PreflightError> {
  const error = await loadFixtureFiles(dir, env).then(
    () => assert.fail('expected the fixtures to be rejected'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof PreflightError, String(error));
  error.message = error.message.split(join(dir, '/')).join('@/');
  return error;
}

const sample = JSON.stringify({ redis: { addr: '127.0.0.1:6379', password: 'pa$$word' }, idle: {} }, null, 2);

describe('JSON fixture files, data-file sidecars and the fixtures directory', () => {
  it('a .json file with the same fields as the YAML ones', async () => {
    const dir = await fixtureDir({
      '10-config.json':
        '{\n  "prefix": "config",\n  "mode": "create-only",\n  "data": {"timeout": 5.0, "on": true}\n}\n',
    });
    const [fixture] = await loadFixtureFiles(dir, {});
    assert.equal(fixture.mode, 'create-only');
    assert.deepEqual(Object.fromEntries(fixture.entries), { 'config/timeout': '5.0', 'config/on': 'true' });
  });

  it('problems in a .json file name its line and column', async () => {
    const dir = await fixtureDir({ '10-x.json': '{\n  "prefix": "config",\n  "data": {\n    "a": null\n  }\n}\n' });
    const error = await rejection(dir);
    assert.equal(error.exitCode, 65);
    assert.equal(error.message, '@/10-x.json:4:5: key config/a has no value (null): write "" for an empty string');
  });

  it('a Backend.AI sample taken as it is: two lines in a sidecar name the prefix and the data file', async () => {
    const dir = await fixtureDir({
      '10-config.yaml': yaml('prefix: config', 'data-file: sample.etcd.config.json'),
      'sample.etcd.config.json': sample,
    });
    const files = await loadFixtureFiles(dir, {});
    assert.deepEqual(
      files.map((file) => file.file),
      ['10-config.yaml'],
      'the referenced sample is data, not a fixture of its own',
    );
    assert.deepEqual(Object.fromEntries(files[0].entries), {
      'config/redis/addr': '127.0.0.1:6379',
      'config/redis/password': 'pa$$word',
    });
  });

  it('a data file may live in a subdirectory; its problems name the data file', async () => {
    const dir = await fixtureDir({ '10-config.yaml': yaml('prefix: config', 'data-file: backend.ai/sample.json') });
    await mkdir(join(dir, 'backend.ai'));
    await writeFile(join(dir, 'backend.ai/sample.json'), '{\n  "a": {\n    "b": [1, 2]\n  }\n}\n');
    const error = await rejection(dir);
    assert.match(error.message, /^@\/backend\.ai\/sample\.json:3:10: lists are not supported \(key config\/a\/b\)/);
  });

  it('a data-file that does not exist, or both data and data-file, are refused with the line', async () => {
    const missing = await rejection(await fixtureDir({ '10-c.yaml': yaml('prefix: c', 'data-file: nope.json') }));
    assert.equal(missing.exitCode, 65);
    assert.match(missing.message, /^@\/10-c\.yaml:2:12: cannot read data-file nope\.json: .*ENOENT/);
    const both = await rejection(
      await fixtureDir({ '10-c.yaml': yaml('prefix: c', 'data: {}', 'data-file: s.json'), 's.json': '{}' }),
    );
    assert.equal(both.message, '@/10-c.yaml:3:12: give either data or data-file, not both');
  });

  it('a bare Backend.AI sample dropped in without a sidecar is refused with the way out', async () => {
    const error = await rejection(await fixtureDir({ 'sample.etcd.config.json': sample }));
    assert.equal(error.exitCode, 65);
    assert.match(
      error.message,
      /^@\/sample\.etcd\.config\.json:2:3: unknown field "redis": .* add a small NN-name\.yaml/,
    );
  });

  it('any other file is refused (65) by name, never silently ignored; *.md is skipped', async () => {
    const error = await rejection(
      await fixtureDir({ '10-a.yaml': yaml('prefix: a', 'data: {}'), 'README.md': '# notes', '20-b.yaml.bak': 'x' }),
    );
    assert.equal(error.exitCode, 65);
    assert.match(error.message, /^@\/20-b\.yaml\.bak: not a fixture file: /);
  });
});

describe('the $ rules in fixture files', () => {
  it('passwords with $ and $$ arrive unchanged, from the file and from variables', async () => {
    const dir = await fixtureDir({
      '10-secrets.yaml': yaml(
        'prefix: config',
        'data:',
        '  redis:',
        '    password: pa$$word',
        '  db:',
        "    password: 'p@$$w0rd$'",
        '    from-env: ${DB_PASSWORD}',
        '    escaped: $${NOT_A_VARIABLE}',
      ),
    });
    const [fixture] = await loadFixtureFiles(dir, { DB_PASSWORD: 'x$$y${Z}' });
    assert.deepEqual(Object.fromEntries(fixture.entries), {
      'config/redis/password': 'pa$$word',
      'config/db/password': 'p@$$w0rd$',
      'config/db/from-env': 'x$$y${Z}',
      'config/db/escaped': '${NOT_A_VARIABLE}',
    });
    assert.deepEqual([...fixture.secretKeys], ['config/db/from-env'], 'substituted from a secret-looking variable');
  });
});

describe('layering with override: true', () => {
  const base = yaml('prefix: config', 'data:', '  redis:', '    addr: 127.0.0.1:6379', '    password: a');
  const sentinel = yaml(
    'prefix: config',
    'override: true',
    'data:',
    '  redis:',
    '    password: b',
    '    service_name: mymaster',
  );

  it('a later file with override: true takes the key over; the earlier file drops it', async () => {
    const files = await loadFixtureFiles(await fixtureDir({ '10-base.yaml': base, '20-sentinel.yaml': sentinel }), {});
    assert.deepEqual(Object.fromEntries(files[0].entries), { 'config/redis/addr': '127.0.0.1:6379' });
    assert.deepEqual([...files[0].keep], ['config/redis/password']);
    assert.deepEqual(Object.fromEntries(files[1].entries), {
      'config/redis/password': 'b',
      'config/redis/service_name': 'mymaster',
    });
    assert.deepEqual(files[1].overrides, [
      { file: '20-sentinel.yaml', key: 'config/redis/password', earlier: '10-base.yaml' },
    ]);
  });

  it('override only works forwards: an earlier file cannot override a later one', async () => {
    const error = await rejection(await fixtureDir({ '10-sentinel.yaml': sentinel, '20-base.yaml': base }));
    assert.equal(error.exitCode, 65);
    assert.match(
      error.message,
      /^@\/20-base\.yaml:5:15: key config\/redis\/password is also defined in .*add override: true to 20-base\.yaml$/,
    );
  });

  it('override must be a boolean', async () => {
    const error = await rejection(
      await fixtureDir({ '10-a.yaml': yaml('prefix: a', 'override: yes please', 'data: {}') }),
    );
    assert.equal(error.message, '@/10-a.yaml:2:11: override must be true or false');
  });
});
