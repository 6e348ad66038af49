import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config';
import { connectRedis, type RedisClient } from '../../src/redis/client';
import { runCli, tempDir, type CliResult } from '../support/context';
import { startTlsRedis, type TlsRedis } from '../support/tls-redis';
import { failureLines } from '../cli/helpers';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';

let redis: TlsRedis;
let pg: TlsPostgres;
before(async () => {
  [redis, pg] = await Promise.all([startTlsRedis(), startTlsPostgres()]);
});
after(async () => Promise.all([redis?.stop(), pg?.stop()]));

const settingsOf = (env: Record<string, string>) =>
  loadConfig({ env: { PGHOST: 'unused', ...env }, cwd: redis.dir, stdoutIsTty: false }).redis!;

/** The port of the server a client is connected to, as the server tells it. */
async function serverPort(client: RedisClient): Promise<number> {
  return Number(/tcp_port:(\d+)/.exec(await client.info('server'))?.[1]);
}

function clean(result: CliResult): CliResult {
  for (const secret of [...redis.sentinels, ...pg.sentinels]) {
    assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), 'a password in the output');
  }
  return result;
}

async function cliEnv(extra: Record<string, string>): Promise<Record<string, string>> {
  const name = `redis_${Date.now()}`;
  await pg.sql(`CREATE DATABASE ${name}`);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tempDir('preflight-home-'),
    DATABASE_URL: `host=${pg.socketDir} port=${pg.port} user=postgres dbname=${name}`,
    LOG_FORMAT: 'json',
    PREFLIGHT_WAIT_TIMEOUT: '20s',
    ...extra,
  };
}

test('rediss:// with REDIS_TLS_CA_FILE and a client certificate: the job runs over TLS', async () => {
  const env = await cliEnv({
    REDIS_URL: `rediss://:${encodeURIComponent(redis.password)}@127.0.0.1:${redis.tlsPort}/2`,
    REDIS_TLS_CA_FILE: redis.certs.ca,
    REDIS_TLS_CERT_FILE: redis.certs.clientCert,
    REDIS_TLS_KEY_FILE: redis.certs.clientKey,
  });
  const result = clean(await runCli(['run'], env));
  assert.equal(result.code, 0, result.stdout);
  assert.ok(result.lines.some((line) => line.event === 'wait.ready' && line.store === 'redis'));
});

test('rediss:// with a CA that did not sign the server: 78 at once; TLS files with redis:// are a configuration error', async () => {
  const env = await cliEnv({
    REDIS_URL: `rediss://:${encodeURIComponent(redis.password)}@127.0.0.1:${redis.tlsPort}/2`,
    REDIS_TLS_CA_FILE: redis.certs.otherCa,
    REDIS_TLS_CERT_FILE: redis.certs.clientCert,
    REDIS_TLS_KEY_FILE: redis.certs.clientKey,
  });
  const result = clean(await runCli(['run'], env));
  assert.equal(result.code, 78, result.stdout);
  assert.match(
    String(failureLines(result.lines)[0]?.message),
    /^Redis at 127\.0\.0\.1:\d+\/2: the server's TLS certificate did not verify/,
  );
  const plain = clean(await runCli(['run'], { ...env, REDIS_URL: `redis://127.0.0.1:${redis.port}/0` }));
  assert.equal(plain.code, 78);
  assert.match(
    String(failureLines(plain.lines)[0]?.message),
    /REDIS_TLS_CA_FILE: TLS files are given but REDIS_URL is redis:\/\//,
  );
});

test('an ACL user in REDIS_URL authenticates as that user; a wrong password is 78 and never printed', async () => {
  const aclPassword = `aclSentinel-${Date.now()}`;
  const admin = await connectRedis(
    settingsOf({ REDIS_URL: `redis://:${encodeURIComponent(redis.password)}@127.0.0.1:${redis.port}/0` }),
  );
  try {
    await admin.call('ACL', 'SETUSER', 'preflight-acl', 'reset', 'on', `>${aclPassword}`, '~*', '&*', '+@all');
  } finally {
    await admin.quit();
  }
  const url = (password: string) => `redis://preflight-acl:${encodeURIComponent(password)}@127.0.0.1:${redis.port}/3`;
  const user = await connectRedis(settingsOf({ REDIS_URL: url(aclPassword) }));
  try {
    assert.equal(await user.call('ACL', 'WHOAMI'), 'preflight-acl');
  } finally {
    user.disconnect();
  }
  const result = clean(await runCli(['run'], await cliEnv({ REDIS_URL: url(aclPassword) })));
  assert.equal(result.code, 0, result.stdout);
  const wrong = clean(await runCli(['run'], await cliEnv({ REDIS_URL: url(`${aclPassword}-wrong`) })));
  assert.equal(wrong.code, 78, wrong.stdout);
  assert.match(
    String(failureLines(wrong.lines)[0]?.message),
    /^Redis at 127\.0\.0\.1:\d+\/3 rejected the credentials: .*WRONGPASS/,
  );
  assert.ok(
    !`${result.stdout}${result.stderr}${wrong.stdout}${wrong.stderr}`.includes(aclPassword),
    'the ACL password in the output',
  );
});

test('Sentinel: the job reaches the current master, also after a failover', async () => {
  const sentinelEnv = {
    REDIS_SENTINELS: `127.0.0.1:1,127.0.0.1:${redis.sentinelPort}`,
    REDIS_SENTINEL_MASTER: 'mymaster',
    REDIS_SENTINEL_PASSWORD: redis.sentinelPassword,
    REDIS_PASSWORD: redis.password,
  };
  const result = clean(await runCli(['run'], await cliEnv(sentinelEnv)));
  assert.equal(result.code, 0, result.stdout);

  const before = await connectRedis(settingsOf(sentinelEnv));
  assert.equal(((await before.call('ROLE')) as string[])[0], 'master');
  assert.equal(await serverPort(before), redis.port);
  await before.set('preflight-test:written', 'yes');
  // Replication is asynchronous and a forced failover drops what the replica has not received yet:
  // wait until the replica acknowledged the write (WAIT), not for some time.
  assert.ok(Number(await before.call('WAIT', '1', '10000')) >= 1, 'the replica did not acknowledge the write');
  before.disconnect();

  const sentinel = new Redis({ host: '127.0.0.1', port: redis.sentinelPort, password: redis.sentinelPassword });
  try {
    await sentinel.call('SENTINEL', 'FAILOVER', 'mymaster');
    for (;;) {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) as string[];
      if (Number(port) === redis.replicaPort) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    sentinel.disconnect();
  }
  // The new master may still be switching roles: the job's wait retries until it answers as master.
  const again = clean(await runCli(['run'], await cliEnv(sentinelEnv)));
  assert.equal(again.code, 0, again.stdout);
  const after = await connectRedis(settingsOf(sentinelEnv));
  try {
    assert.equal(await serverPort(after), redis.replicaPort);
    assert.equal(await after.get('preflight-test:written'), 'yes');
  } finally {
    after.disconnect();
  }
});

test('Sentinel without the master name, or together with REDIS_URL: 78 naming the variable', async () => {
  const result = clean(
    await runCli(
      ['run'],
      await cliEnv({ REDIS_SENTINELS: `127.0.0.1:${redis.sentinelPort}`, REDIS_URL: 'redis://x/0' }),
    ),
  );
  assert.equal(result.code, 78);
  const message = String(failureLines(result.lines)[0]?.message);
  assert.match(message, /REDIS_URL: set either REDIS_URL or REDIS_SENTINELS/);
  assert.match(message, /REDIS_SENTINEL_MASTER: REDIS_SENTINELS needs the master name/);
});
