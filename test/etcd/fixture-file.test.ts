import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadFixtureFiles } from '../../src/etcd/fixture-file';
import { fixtureDir, yaml } from './temp-fixtures';

async function loadOne(text: string, env: Record<string, string> = {}) {
  const [fixture] = await loadFixtureFiles(await fixtureDir({ '10-test.yaml': text }), env);
  return fixture;
}

describe('loading fixture files', () => {
  it('flattens nested maps into encoded keys under the prefix', async () => {
    const fixture = await loadOne(
      yaml(
        'prefix: /config/',
        'data:',
        '  docker:',
        '    registry:',
        '      cr.backend.ai:',
        '        "": https://cr.backend.ai',
        '        type: harbor2',
        '  images:',
        '    lablup/python:3.9: cr.backend.ai/stable/python:3.9',
      ),
    );
    assert.equal(fixture.prefix, 'config');
    assert.equal(fixture.mode, 'merge');
    assert.deepEqual(Object.fromEntries(fixture.entries), {
      'config/docker/registry/cr.backend.ai': 'https://cr.backend.ai',
      'config/docker/registry/cr.backend.ai/type': 'harbor2',
      'config/images/lablup%2Fpython%3A3.9': 'cr.backend.ai/stable/python:3.9',
    });
  });

  it('stores "" at the prefix itself and an empty prefix means the namespace root', async () => {
    const atPrefix = await loadOne(yaml('prefix: volumes', 'data:', '  "": root value', '  a: 1'));
    assert.deepEqual(Object.fromEntries(atPrefix.entries), { volumes: 'root value', 'volumes/a': '1' });
    const atRoot = await loadOne(yaml('prefix: ""', 'data:', '  config:', '    a: 1'));
    assert.deepEqual([...atRoot.entries.keys()], ['config/a']);
  });

  it('stores scalars as strings exactly as written', async () => {
    const fixture = await loadOne(
      yaml(
        'prefix: p',
        'data:',
        '  mtu: 1500',
        '  ratio: 1.50',
        '  hex: 0x1F',
        '  on: true',
        '  quoted: "007"',
        '  empty: ""',
        '  1: numeric key',
        '  block: |',
        '    two',
        '    lines',
      ),
    );
    assert.deepEqual(Object.fromEntries(fixture.entries), {
      'p/mtu': '1500',
      'p/ratio': '1.50',
      'p/hex': '0x1F',
      'p/on': 'true',
      'p/quoted': '007',
      'p/empty': '',
      'p/1': 'numeric key',
      'p/block': 'two\nlines\n',
    });
  });

  it('substitutes variables in values but not in keys', async () => {
    const fixture = await loadOne(
      yaml(
        'prefix: config',
        'data:',
        '  redis:',
        '    addr: ${REDIS_ADDR:-127.0.0.1:6379}',
        '    "${KEY}": $${literal}',
        '  mount: ${STORAGE_MOUNT}',
      ),
      { STORAGE_MOUNT: '/mnt/vfroot' },
    );
    assert.deepEqual(Object.fromEntries(fixture.entries), {
      'config/redis/addr': '127.0.0.1:6379',
      'config/redis/%24%7BKEY%7D': '${literal}',
      'config/mount': '/mnt/vfroot',
    });
  });

  it('accepts the three modes and an empty data map', async () => {
    for (const mode of ['merge', 'replace', 'create-only']) {
      const fixture = await loadOne(yaml('prefix: p', `mode: ${mode}`, 'data: {}'));
      assert.equal(fixture.mode, mode);
      assert.equal(fixture.entries.size, 0);
    }
  });

  it('loads .yaml, .yml and .json files, sorted by file name, and skips *.md and directories', async () => {
    const text = (prefix: string) => yaml(`prefix: ${prefix}`, 'data:', '  k: v');
    const dir = await fixtureDir({
      '20-b.yml': text('b'),
      '10-a.yaml': text('a'),
      '100-c.yaml': text('c'),
      'README.md': '# not a fixture',
      '15-j.json': '{"prefix": "j", "data": {"k": "v"}}',
      'Z-e.yaml': text('e'),
    });
    await mkdir(join(dir, '..data'));
    const files = await loadFixtureFiles(dir, {});
    assert.deepEqual(
      files.map((file) => file.file),
      ['10-a.yaml', '100-c.yaml', '15-j.json', '20-b.yml', 'Z-e.yaml'],
    );
    assert.equal(files[0].path, join(dir, '10-a.yaml'));
  });

  it('returns no files for a missing directory', async () => {
    assert.deepEqual(await loadFixtureFiles(join(await fixtureDir({}), 'missing'), {}), []);
  });

  it('hashes what a file resolves to, so a changed variable changes the hash', async () => {
    const text = yaml('prefix: config', 'data:', '  addr: ${ADDR:-a}');
    const first = await loadOne(text);
    assert.match(first.hash, /^[0-9a-f]{64}$/);
    assert.equal((await loadOne(text)).hash, first.hash);
    assert.notEqual((await loadOne(text, { ADDR: 'b' })).hash, first.hash);
    assert.notEqual((await loadOne(text.replace('prefix: config', 'prefix: config\nmode: replace'))).hash, first.hash);
  });

  it('loads the shipped fixtures when STORAGE_MOUNT is set', async () => {
    const files = await loadFixtureFiles(join(__dirname, '../../../fixtures/etcd'), { STORAGE_MOUNT: '/mnt/vfroot' });
    assert.deepEqual(
      files.map((file) => file.file),
      ['10-config.yaml', '20-volumes.yaml', '30-plugins.yaml', '40-image-aliases.yaml'],
    );
    const all = new Map(files.flatMap((file) => [...file.entries]));
    assert.equal(all.get('config/docker/registry/cr.backend.ai'), 'https://cr.backend.ai');
    assert.equal(all.get('config/redis/addr'), '127.0.0.1:6379');
    assert.equal(all.get('volumes/_mount'), '/mnt/vfroot');
    assert.equal(all.get('images/_aliases/lablup%2Fpython%3A3.9'), 'cr.backend.ai/stable/python:3.9-ubuntu20.04');
  });
});
