import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { applyFixtures, planFixtures, writeFile } from '../../src/etcd/apply-fixtures';
import { keyspace } from '../../src/etcd/key-path';
import { fixtures, largeFixture, memoryLogger, readNamespace, suiteNamespace } from './etcd-helpers';
import { yaml } from './temp-fixtures';

/** Each key's version (how many times it was written since created) under the namespace. */
async function versions(client: Etcd3, namespace: string): Promise<Record<string, string>> {
  const { kvs } = await client.kv.range({
    key: Buffer.from(`${namespace}/`),
    range_end: Buffer.from(`${namespace}0`),
    keys_only: true,
  });
  return Object.fromEntries(kvs.map(({ key, version }) => [key.toString().slice(namespace.length + 1), version]));
}

describe('layered and concurrent applies', () => {
  let client: Etcd3;
  /** A namespace of its own for each test, under the one the harness cleans up. */
  const fresh = suiteNamespace('c', (connected) => (client = connected));

  const base = (addr: string) =>
    yaml('prefix: config', 'mode: replace', 'data:', '  redis:', `    addr: ${addr}`, '    password: a');
  const sentinel = yaml('prefix: config', 'override: true', 'data:', '  redis:', '    password: b');

  it('an override wins, is logged, and survives a later change of the earlier file', async () => {
    const ns = fresh();
    const log = memoryLogger();
    await applyFixtures(client, ns, await fixtures({ '10-base.yaml': base('x:1'), '20-s.yaml': sentinel }), log);
    assert.deepEqual(
      log.events.filter((event) => event.event === 'fixtures.override'),
      [{ event: 'fixtures.override', file: '20-s.yaml', key: 'config/redis/password', earlier: '10-base.yaml' }],
    );
    // The earlier file changes (and is mode replace): it must neither put its value back nor delete the key.
    const [changed] = await applyFixtures(
      client,
      ns,
      await fixtures({ '10-base.yaml': base('y:2'), '20-s.yaml': sentinel }),
      memoryLogger(),
    );
    assert.deepEqual([changed.status, changed.puts, changed.deletes], ['applied', 1, 0]);
    const stored = await readNamespace(client, ns);
    assert.equal(stored['config/redis/password'], 'b');
    assert.equal(stored['config/redis/addr'], 'y:2');
    // Without the override file, the earlier file owns the key again.
    await applyFixtures(client, ns, await fixtures({ '10-base.yaml': base('y:2') }), memoryLogger());
    assert.equal((await readNamespace(client, ns))['config/redis/password'], 'a');
  });

  it('create-only never overwrites a key an operator created after the plan read it (compare-and-swap)', async () => {
    const ns = fresh();
    const files = await fixtures({
      '30-p.yaml': yaml('prefix: plugins', 'mode: create-only', 'data:', '  a: 1', '  b: 2'),
    });
    const plan = await planFixtures(client, ns, files);
    assert.deepEqual(
      plan.files[0].puts.map((change) => change.key),
      ['plugins/a', 'plugins/b'],
    );
    await client.put(`${ns}/plugins/a`).value('operator');
    assert.equal(await writeFile(client, keyspace(ns), plan.files[0]), false, 'the stale plan writes nothing');
    assert.deepEqual(await readNamespace(client, ns), { 'plugins/a': 'operator' });
    const [result] = await applyFixtures(client, ns, files, memoryLogger());
    assert.deepEqual([result.status, result.puts], ['applied', 1]);
    const stored = await readNamespace(client, ns);
    assert.equal(stored['plugins/a'], 'operator');
    assert.equal(stored['plugins/b'], '2');
  });

  it('8 applies at once (small and 300-key files) write every key exactly once', async () => {
    const ns = fresh();
    const files = await fixtures({
      '10-small.yaml': yaml('prefix: config', 'data:', '  a: 1', '  b: 2'),
      '20-large.yaml': largeFixture('big', 300),
      '30-create.yaml': yaml('prefix: plugins', 'mode: create-only', 'data:', '  x: 1'),
    });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => applyFixtures(client, ns, files, memoryLogger())),
    );
    const applied = outcomes.flat().filter((result) => result.status === 'applied');
    assert.ok(applied.length >= 3, 'every file applied by at least one');
    const written = await versions(client, ns);
    assert.equal(Object.keys(written).length, 2 + 300 + 1 + 3);
    assert.deepEqual(
      Object.entries(written).filter(([, version]) => version !== '1'),
      [],
      'no key written twice',
    );
  });
});
