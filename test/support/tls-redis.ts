/**
 * A private Redis for the connectivity tests: a plain port and a TLS port (client certificates
 * required there), a replica, and a Sentinel watching them as `mymaster`. Only the test files that
 * need it start it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { freePorts, ServerProcess, startReaper } from './server-process';
import { makeCertificates, type TestCertificates } from './tls';

export interface TlsRedis {
  dir: string;
  certs: TestCertificates;
  port: number;
  tlsPort: number;
  replicaPort: number;
  sentinelPort: number;
  password: string;
  sentinelPassword: string;
  sentinels: string[];
  stop(): Promise<void>;
}

const host = '127.0.0.1';

export async function startTlsRedis(): Promise<TlsRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-tls-redis-'));
  const reaper = startReaper(dir);
  const certs = makeCertificates(path.join(dir, 'certs'), 'redis-client');
  const [port, tlsPort, replicaPort, sentinelPort] = await freePorts(4);
  const password = `redisTlsSentinel-${randomBytes(8).toString('hex')}`;
  const sentinelPassword = `sentinelSentinel-${randomBytes(8).toString('hex')}`;
  const ping = (probePort: number, auth: string) => async () => {
    const client = new Redis({ host, port: probePort, password: auth, lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  };
  const server = (name: string, args: string[], probe: () => Promise<void>) =>
    new ServerProcess({
      name,
      command: 'redis-server',
      args,
      // Throwaway data, and a Redis 7.0 replica whose master is gone can ignore SIGTERM's shutdown
      // (seen after the failover test): nothing here needs a graceful stop.
      stopSignal: 'SIGKILL',
      cwd: dir,
      logPath: path.join(dir, `${name}.log`),
      probe,
    });
  const dataArgs = (name: string, serverPort: number) => {
    fs.mkdirSync(path.join(dir, name));
    return [
      '--port',
      String(serverPort),
      '--bind',
      host,
      '--dir',
      path.join(dir, name),
      '--requirepass',
      password,
      '--masterauth',
      password,
      '--appendonly',
      'yes',
      '--save',
      '',
    ];
  };
  const master = server(
    'master',
    [
      ...dataArgs('master', port),
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      certs.serverCert,
      '--tls-key-file',
      certs.serverKey,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'yes',
    ],
    ping(port, password),
  );
  const replica = server(
    'replica',
    [...dataArgs('replica', replicaPort), '--replicaof', host, String(port)],
    ping(replicaPort, password),
  );
  const sentinelConf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(
    sentinelConf,
    [
      `port ${sentinelPort}`,
      `bind ${host}`,
      `dir ${dir}`,
      `requirepass ${sentinelPassword}`,
      `sentinel monitor mymaster ${host} ${port} 1`,
      `sentinel auth-pass mymaster ${password}`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 5000',
      '',
    ].join('\n'),
  );
  const sentinel = new ServerProcess({
    name: 'sentinel',
    command: 'redis-server',
    args: [sentinelConf, '--sentinel'],
    stopSignal: 'SIGKILL',
    cwd: dir,
    logPath: path.join(dir, 'sentinel.log'),
    probe: () => sentinelKnowsReplica(sentinelPort, sentinelPassword),
  });
  const servers = [master, replica, sentinel];
  const stop = async () => {
    for (const running of [...servers].reverse()) await running.stop().catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 5 });
    reaper.stdin?.end();
  };
  try {
    for (const running of servers) await running.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    certs,
    port,
    tlsPort,
    replicaPort,
    sentinelPort,
    password,
    sentinelPassword,
    sentinels: [password, sentinelPassword],
    stop,
  };
}

/** Ready once the sentinel has found the replica (a failover needs it). */
async function sentinelKnowsReplica(port: number, password: string): Promise<void> {
  const client = new Redis({ host, port, password, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const replicas = (await client.call('SENTINEL', 'REPLICAS', 'mymaster')) as unknown[];
    if (replicas.length === 0) throw new Error('sentinel has not found the replica yet');
  } finally {
    client.disconnect();
  }
}
