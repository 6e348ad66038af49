import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { applyFixtures, planFixtures, type FixtureChange } from '../../src/etcd/apply-fixtures';
import { PreflightError } from '../../src/core/errors';
import {
  countKvCalls,
  fixtures,
  memoryLogger,
  modRevisions,
  readNamespace,
  writtenSince,
  suiteNamespace,
} from './etcd-helpers';
import { yaml } from './temp-fixtures';

describe('applying etcd fixtures', () => {
  let client: Etcd3;
  /** A namespace of its own for each test, under the one the harness cleans up. */
  const fresh = suiteNamespace('t', (connected) => (client = connected));

  const config = yaml(
    'prefix: config',
    'data:',
    '  redis:',
    '    addr: ${REDIS_ADDR:-127.0.0.1:6379}',
    '  docker:',
    '    registry:',
    '      cr.backend.ai:',
    '        "": https://cr.backend.ai',
    '        project: stable,community',
  );

  it('the first apply writes every key and one hash record per file', async () => {
    const ns = fresh();
    const files = await fixtures({
      '10-config.yaml': config,
      '20-volumes.yaml': yaml('prefix: volumes', 'data:', '  _mount: /mnt'),
    });
    const log = memoryLogger();
    const results = await applyFixtures(client, ns, files, log);
    assert.deepEqual(
      results.map(({ file, status, puts, deletes }) => ({ file, status, puts, deletes })),
      [
        { file: '10-config.yaml', status: 'applied', puts: 3, deletes: 0 },
        { file: '20-volumes.yaml', status: 'applied', puts: 1, deletes: 0 },
      ],
    );
    assert.deepEqual(await readNamespace(client, ns), {
      'config/redis/addr': '127.0.0.1:6379',
      'config/docker/registry/cr.backend.ai': 'https://cr.backend.ai',
      'config/docker/registry/cr.backend.ai/project': 'stable,community',
      'volumes/_mount': '/mnt',
      '_preflight/fixtures/10-config.yaml': files[0].hash,
      '_preflight/fixtures/20-volumes.yaml': files[1].hash,
    });
    assert.deepEqual(
      log.events.map((event) => [event.event, event.file, event.puts]),
      [
        ['fixtures.file.applied', '10-config.yaml', 3],
        ['fixtures.file.applied', '20-volumes.yaml', 1],
      ],
    );
  });

  it('an unchanged re-run writes nothing: no key under the namespace changes revision', async () => {
    const ns = fresh();
    const files = await fixtures({ '10-config.yaml': config });
    await applyFixtures(client, ns, files, memoryLogger());
    const before = await modRevisions(client, ns);
    const log = memoryLogger();
    const calls = countKvCalls(client);
    const results = await applyFixtures(client, ns, files, log).finally(() => calls.restore());
    assert.deepEqual([calls.ranges, calls.txns], [1, 0], 'one range read, no transaction');
    assert.deepEqual(await modRevisions(client, ns), before);
    assert.deepEqual(
      results.map((result) => result.status),
      ['unchanged'],
    );
    assert.deepEqual(log.events, [{ event: 'fixtures.file.unchanged', file: '10-config.yaml' }]);
  });

  it('a changed file re-applies only the difference, in one transaction', async () => {
    const ns = fresh();
    await applyFixtures(client, ns, await fixtures({ '10-config.yaml': config }), memoryLogger());
    const before = await modRevisions(client, ns);
    const changed = await fixtures({ '10-config.yaml': config }, { REDIS_ADDR: 'redis:6379' });
    const [result] = await applyFixtures(client, ns, changed, memoryLogger());
    assert.deepEqual([result.status, result.puts, result.deletes], ['applied', 1, 0]);
    const written = await writtenSince(client, ns, before);
    assert.deepEqual(Object.keys(written).sort(), ['_preflight/fixtures/10-config.yaml', 'config/redis/addr']);
    assert.equal(new Set(Object.values(written)).size, 1, 'one transaction writes both at one revision');
    assert.equal((await readNamespace(client, ns))['config/redis/addr'], 'redis:6379');
  });

  it('merge puts the listed keys and leaves unlisted keys alone', async () => {
    const ns = fresh();
    await client.put(`${ns}/config/operator/extra`).value('kept');
    await client.put(`${ns}/config/redis/addr`).value('old:1');
    const [result] = await applyFixtures(client, ns, await fixtures({ '10-config.yaml': config }), memoryLogger());
    assert.equal(result.puts, 3);
    const stored = await readNamespace(client, ns);
    assert.equal(stored['config/operator/extra'], 'kept');
    assert.equal(stored['config/redis/addr'], '127.0.0.1:6379');
  });

  it('replace deletes keys under the prefix that the file does not list, and nothing else', async () => {
    const ns = fresh();
    await client.put(`${ns}/volumes`).value('at the prefix itself');
    await client.put(`${ns}/volumes/proxies/old/secret`).value('gone');
    await client.put(`${ns}/volumes-archive/a`).value('a neighbour, kept');
    await client.put(`${ns}/_preflight/fixtures/05-old.yaml`).value('stale record, kept');
    const files = await fixtures({
      '20-volumes.yaml': yaml('prefix: volumes', 'mode: replace', 'data:', '  _mount: /mnt'),
    });
    const [result] = await applyFixtures(client, ns, files, memoryLogger());
    assert.deepEqual([result.puts, result.deletes], [1, 2]);
    assert.deepEqual(await readNamespace(client, ns), {
      'volumes/_mount': '/mnt',
      'volumes-archive/a': 'a neighbour, kept',
      '_preflight/fixtures/05-old.yaml': 'stale record, kept',
      '_preflight/fixtures/20-volumes.yaml': files[0].hash,
    });
  });

  it('replace at the namespace root never deletes preflight records', async () => {
    const ns = fresh();
    await client.put(`${ns}/stray`).value('x');
    const files = await fixtures({
      '00-root.yaml': yaml('prefix: ""', 'mode: replace', 'data:', '  config:', '    a: 1'),
    });
    await applyFixtures(client, ns, files, memoryLogger());
    await applyFixtures(
      client,
      ns,
      await fixtures({ '00-root.yaml': yaml('prefix: ""', 'mode: replace', 'data:', '  config:', '    a: 2') }),
      memoryLogger(),
    );
    assert.deepEqual(Object.keys(await readNamespace(client, ns)).sort(), [
      '_preflight/fixtures/00-root.yaml',
      'config/a',
    ]);
  });

  it("create-only adds missing keys but keeps an operator's edit", async () => {
    const ns = fresh();
    await client.put(`${ns}/config/plugins/scheduler/fifo/num_retries_to_skip`).value('7');
    const text = yaml(
      'prefix: config/plugins',
      'mode: create-only',
      'data:',
      '  scheduler:',
      '    fifo:',
      '      num_retries_to_skip: 3',
      '      other: x',
    );
    const [result] = await applyFixtures(client, ns, await fixtures({ '30-plugins.yaml': text }), memoryLogger());
    assert.equal(result.puts, 1);
    const stored = await readNamespace(client, ns);
    assert.equal(stored['config/plugins/scheduler/fifo/num_retries_to_skip'], '7');
    assert.equal(stored['config/plugins/scheduler/fifo/other'], 'x');
  });

  it('writes only the hash record when etcd already holds what the file says', async () => {
    const ns = fresh();
    await client.put(`${ns}/volumes/_mount`).value('/mnt');
    const before = await modRevisions(client, ns);
    const [result] = await applyFixtures(
      client,
      ns,
      await fixtures({ 'v.yaml': yaml('prefix: volumes', 'data:', '  _mount: /mnt') }),
      memoryLogger(),
    );
    assert.deepEqual([result.status, result.puts, result.deletes], ['applied', 0, 0]);
    assert.deepEqual(Object.keys(await writtenSince(client, ns, before)), ['_preflight/fixtures/v.yaml']);
  });

  it('plans without writing: puts with before and after, deletes, stale records', async () => {
    const ns = fresh();
    await client.put(`${ns}/config/redis/addr`).value('old:1');
    await client.put(`${ns}/config/unlisted`).value('u');
    await client.put(`${ns}/_preflight/fixtures/05-removed.yaml`).value('h');
    const files = await fixtures({
      '10-config.yaml': yaml('prefix: config', 'mode: replace', 'data:', '  redis:', '    addr: new:2'),
    });
    const before = await modRevisions(client, ns);
    const plan = await planFixtures(client, ns, files);
    assert.deepEqual(await modRevisions(client, ns), before);
    assert.equal(plan.files[0].status, 'changed');
    const shown = ({ key, before, after }: FixtureChange) => ({ key, before, after });
    assert.deepEqual(plan.files[0].puts.map(shown), [{ key: 'config/redis/addr', before: 'old:1', after: 'new:2' }]);
    assert.deepEqual(plan.files[0].deletes.map(shown), [{ key: 'config/unlisted', before: 'u', after: undefined }]);
    assert.deepEqual(plan.staleRecords, ['_preflight/fixtures/05-removed.yaml']);
  });

  it('a failed write names the file and records no hash, so the next run redoes it', async () => {
    const ns = fresh();
    // Over etcd's default --max-request-bytes (1.5 MiB), under gRPC's message limit (2 MiB).
    const huge = 'x'.repeat(1_600_000);
    const files = await fixtures({ '50-huge.yaml': yaml('prefix: big', 'data:', `  value: ${huge}`) });
    await assert.rejects(applyFixtures(client, ns, files, memoryLogger()), (error: unknown) => {
      assert.ok(error instanceof PreflightError);
      assert.equal(error.kind, 'software');
      assert.match(error.message, /50-huge\.yaml: writing to etcd failed: .*request is too large/);
      return true;
    });
    assert.deepEqual(await readNamespace(client, ns), {});
  });
});
