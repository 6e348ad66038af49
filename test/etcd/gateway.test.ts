import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { EtcdAccess } from '../../src/etcd/access';
import { PreflightError } from '../../src/core/errors';
import { preflightEnv, freshDatabase, runCli, testStack } from '../support/context';
import { startEtcdServer } from '../support/etcd-server';
import { ServerProcess, startReaper } from '../support/server-process';

/**
 * Issue 15: reads go through etcd's JSON gateway with Node's own http, so a run that writes nothing
 * to etcd never loads etcd3, gRPC and protobuf; writes, and endpoints without a gateway, use etcd3.
 */
/** Whether the access ever made its etcd3 client (the gRPC one). */
const madeGrpcClient = (access: EtcdAccess) => (access as unknown as { client?: unknown }).client !== undefined;

describe('etcd through its JSON gateway', () => {
  it('pings and reads with password authentication without loading etcd3', async () => {
    const { etcd } = await testStack();
    const namespace = `/test/gateway-${process.pid}`;
    const writer = new Etcd3({ hosts: etcd.endpoint, auth: { username: etcd.username, password: etcd.password } });
    await writer.put(`${namespace}/a`).value('1');
    await writer.put(`${namespace}/b`).value('two');
    writer.close();
    const access = new EtcdAccess({
      endpoints: [etcd.endpoint],
      username: etcd.username,
      password: etcd.password,
      namespace,
    });
    try {
      await access.ping();
      const page = await access.kv.range({
        key: Buffer.from(`${namespace}/`),
        range_end: Buffer.from(`${namespace}0`),
        limit: 1,
      });
      assert.deepEqual(
        page.kvs.map(({ key, value }) => [key.toString(), value.toString()]),
        [[`${namespace}/a`, '1']],
      );
      assert.equal(page.more, true);
      assert.match(page.header.revision, /^\d+$/);
      const absent = await access.kv.range({ key: Buffer.from(`${namespace}/none`) });
      assert.deepEqual(absent.kvs, []);
      assert.equal(absent.more, false);
      assert.ok(!madeGrpcClient(access), 'the reads went through etcd3');
    } finally {
      await access.close();
    }
  });

  it('reports a wrong password as a configuration error without printing it', async () => {
    const { etcd } = await testStack();
    const access = new EtcdAccess({
      endpoints: [etcd.endpoint],
      username: etcd.username,
      password: 'not-the-password',
      namespace: '/test/gateway',
    });
    try {
      await assert.rejects(access.ping(), (error: unknown) => {
        assert.ok(error instanceof PreflightError);
        assert.equal(error.kind, 'config');
        assert.match(error.message, /^etcd refused the credentials: .*authentication failed/);
        assert.doesNotMatch(error.message, /not-the-password/);
        return true;
      });
    } finally {
      await access.close();
    }
  });

  it('a dead endpoint listed first is skipped; one that refuses everything is thrown for the backoff', async () => {
    const { etcd } = await testStack();
    const settings = { username: etcd.username, password: etcd.password, namespace: '/test/gateway' };
    const access = new EtcdAccess({ ...settings, endpoints: ['http://127.0.0.1:1', etcd.endpoint] });
    const dead = new EtcdAccess({ ...settings, endpoints: ['http://127.0.0.1:1'] });
    try {
      await access.ping();
      await assert.rejects(dead.ping(), (error: unknown) => !(error instanceof PreflightError));
    } finally {
      await access.close();
      await dead.close();
    }
  });
});

describe('an etcd without the gateway (--enable-grpc-gateway=false)', () => {
  let dir: string;
  let server: ServerProcess;
  let endpoint: string;
  let reaper: ReturnType<typeof startReaper>;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-etcd-nogw-'));
    reaper = startReaper(dir);
    ({ server, endpoint } = await startEtcdServer({
      name: 'nogw',
      dir,
      scheme: 'http',
      args: ['--enable-grpc-gateway=false'],
    }));
  });
  after(async () => {
    await server?.stop();
    await fs.promises.rm(dir, { recursive: true, force: true });
    reaper?.stdin?.end();
  });

  it('falls back to etcd3 for the ping and the reads', async () => {
    const writer = new Etcd3({ hosts: endpoint });
    await writer.put('/nogw/key').value('v');
    writer.close();
    const access = new EtcdAccess({ endpoints: [endpoint], namespace: '/nogw' });
    try {
      await access.ping();
      assert.ok(madeGrpcClient(access));
      const page = await access.kv.range({ key: Buffer.from('/nogw/key') });
      assert.deepEqual(
        page.kvs.map(({ value }) => value.toString()),
        ['v'],
      );
    } finally {
      await access.close();
    }
  });

  it('a whole run applies the fixtures through etcd3, and the no-op after it finds them unchanged', async () => {
    const db = await freshDatabase();
    try {
      const env = {
        ...(await preflightEnv({ db })),
        ETCD_ENDPOINTS: endpoint,
        ETCD_NAMESPACE: `/nogw/${db.name}`,
        STORAGE_MOUNT: '/mnt/vfroot',
      };
      const first = await runCli(['run'], env);
      assert.equal(first.code, 0, first.stdout);
      assert.ok(first.lines.some((line) => line.event === 'fixtures.file.applied'));
      const again = await runCli(['run'], env);
      assert.equal(again.code, 0, again.stdout);
      assert.ok(!again.lines.some((line) => line.event === 'fixtures.file.applied'));
    } finally {
      await db.close();
    }
  });
});

describe('a no-op run with every store', () => {
  it('loads neither the etcd3 nor the TypeORM chunk of the bundle', async () => {
    const db = await freshDatabase();
    const { redis } = await testStack();
    try {
      const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-hook-')), 'loaded.js');
      fs.writeFileSync(
        hook,
        `process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n`,
      );
      const env = {
        ...(await preflightEnv({ db, etcd: { namespace: `/gateway/${db.name}` }, redis: { url: redis.url } })),
        STORAGE_MOUNT: '/mnt/vfroot',
        NODE_OPTIONS: `--require ${hook}`,
      };
      assert.equal((await runCli(['run'], env)).code, 0);
      const noop = await runCli(['run'], env);
      assert.equal(noop.code, 0, noop.stdout);
      assert.ok(noop.lines.some((line) => line.event === 'fixtures.file.unchanged'));
      const loaded = JSON.parse(/LOADED (.*)/.exec(noop.stderr)?.[1] ?? '[]') as string[];
      const chunks = loaded
        .filter((file) => file.includes(`${path.sep}vendor${path.sep}`))
        .map((file) => path.basename(file));
      assert.ok(chunks.includes('pg.js'), chunks.join(', '));
      // Redis is preflight's own small client, in the main file: there is no ioredis chunk to load.
      assert.ok(!chunks.includes('etcd3.js') && !chunks.includes('typeorm.js'), chunks.join(', '));
      assert.ok(
        !fs.existsSync(path.resolve(__dirname, '../../bundle/vendor/ioredis.js')),
        'an ioredis chunk was built',
      );
    } finally {
      await db.close();
    }
  });
});
