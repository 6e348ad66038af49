import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { applyFixtures, planFixtures } from '../../src/etcd/apply-fixtures';
import { etcdNamespace } from '../support/context';
import { fixtures, largeFixture, memoryLogger, modRevisions, readNamespace } from './etcd-helpers';

describe('applying a 10,000-key fixture file', () => {
  let client: Etcd3;
  let namespace: string;
  let close: () => Promise<void>;
  before(async () => {
    ({ client, namespace, close } = await etcdNamespace());
  });
  after(() => close());

  it('applies 10,000 keys, re-runs without writing, and converges after a crash (timings: npm run bench)', async (t) => {
    const files = await fixtures({ '90-large.yaml': largeFixture('large', 10_000) });
    assert.equal(files[0].entries.size, 10_000);

    const firstStartedAt = performance.now();
    const [first] = await applyFixtures(client, namespace, files, memoryLogger());
    const firstMs = performance.now() - firstStartedAt;
    t.diagnostic(`first apply of 10,000 keys: ${firstMs.toFixed(0)} ms`);
    assert.deepEqual([first.status, first.puts], ['applied', 10_000]);
    assert.equal(Object.keys(await readNamespace(client, namespace)).length, 10_001);

    const before = await modRevisions(client, namespace);
    const rerunStartedAt = performance.now();
    const [rerun] = await applyFixtures(client, namespace, files, memoryLogger());
    t.diagnostic(`unchanged re-run: ${(performance.now() - rerunStartedAt).toFixed(0)} ms`);
    assert.equal(rerun.status, 'unchanged');
    assert.deepEqual(await modRevisions(client, namespace), before);

    // A crash after some batches but before the hash record: the old record, some keys missing or old.
    await client.put(`${namespace}/_preflight/fixtures/90-large.yaml`).value('an older hash');
    await client.delete().prefix(`${namespace}/large/g042/`);
    await client.put(`${namespace}/large/g007/k001`).value('stale');
    const [recovered] = await applyFixtures(client, namespace, files, memoryLogger());
    assert.deepEqual([recovered.status, recovered.puts, recovered.deletes], ['applied', 101, 0]);
    assert.equal((await planFixtures(client, namespace, files)).files[0].status, 'unchanged');
    assert.equal((await readNamespace(client, namespace))['large/g007/k001'], 'value-7-1');
  });

  it('re-applies only what changed in a large file', async () => {
    const changed = await fixtures({
      '90-large.yaml': largeFixture('large', 10_000).replace('value-99-99\n', 'value-99-99-changed\n'),
    });
    const [result] = await applyFixtures(client, namespace, changed, memoryLogger());
    assert.deepEqual([result.puts, result.deletes], [1, 0]);
  });
});
