import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { Etcd3 } from 'etcd3';
import { Client } from 'pg';
import { etcdBinary, etcdSupportsNoFsync, nobody, postgresBinDir } from './binaries';
import { freePorts, ServerProcess, startReaper, type ServerControl } from './server-process';

export type { ServerControl } from './server-process';

/** Everything a test process needs to reach the stack; JSON-serialisable (PREFLIGHT_TEST_STACK). */
export interface StackInfo {
  postgres: { host: string; port: number; user: string; password: string; /** database `postgres` */ adminUrl: string };
  etcd: { endpoint: string; username: string; password: string };
  redis: { host: string; port: number; password: string; /** db 0 */ url: string };
}

export interface Stack {
  /** the temp dir holding every data dir and server log; deleted by stop() */
  readonly dir: string;
  readonly info: StackInfo;
  /** the three per-run passwords; none of them may ever appear in output */
  readonly sentinels: readonly string[];
  readonly postgres: ServerControl;
  readonly etcd: ServerControl;
  readonly redis: ServerControl;
  /** wall-clock time startStack() took */
  readonly startupMs: number;
  /** stops all three servers and deletes the temp dir; safe to call twice */
  stop(): Promise<void>;
}

const host = '127.0.0.1';

export async function startStack(): Promise<Stack> {
  const startedAt = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-stack-'));
  // PostgreSQL may run as `nobody` below, and must be able to reach its data dir through this one.
  fs.chmodSync(dir, 0o755);
  const reaper = startReaper(dir);
  const [pgPort, etcdPort, etcdPeerPort, redisPort] = await freePorts(4);
  const passwords = {
    postgres: `pgSentinel-${randomBytes(8).toString('hex')}`,
    etcd: `etcdSentinel-${randomBytes(8).toString('hex')}`,
    redis: `redisSentinel-${randomBytes(8).toString('hex')}`,
  };
  const info: StackInfo = {
    postgres: {
      host,
      port: pgPort,
      user: 'postgres',
      password: passwords.postgres,
      adminUrl: `postgres://postgres:${encodeURIComponent(passwords.postgres)}@${host}:${pgPort}/postgres`,
    },
    etcd: { endpoint: `http://${host}:${etcdPort}`, username: 'root', password: passwords.etcd },
    redis: {
      host,
      port: redisPort,
      password: passwords.redis,
      url: `redis://:${encodeURIComponent(passwords.redis)}@${host}:${redisPort}/0`,
    },
  };
  const servers = {
    postgres: postgresServer(dir, info),
    etcd: etcdServer(dir, info, etcdPeerPort),
    redis: redisServer(dir, info),
  };
  const all = Object.values(servers);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const results = await Promise.allSettled(all.map((server) => server.stop()));
    await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 5 });
    reaper.stdin?.end();
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length > 0)
      throw new AggregateError(
        failures.map((failure) => failure.reason),
        'stopping the test stack failed',
      );
  };

  const starts = await Promise.allSettled(all.map((server) => server.start()));
  const failed = starts.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed.length > 0) {
    await stop();
    throw new AggregateError(
      failed.map((failure) => failure.reason),
      `test stack failed to start: ${failed.map((f) => String(f.reason)).join('\n')}`,
    );
  }
  return { dir, info, sentinels: Object.values(passwords), ...servers, startupMs: Date.now() - startedAt, stop };
}

function postgresServer(dir: string, info: StackInfo): ServerProcess {
  const bin = postgresBinDir();
  const pgDir = path.join(dir, 'postgres');
  const dataDir = path.join(pgDir, 'data');
  const user = process.getuid?.() === 0 ? nobody() : undefined;
  fs.mkdirSync(pgDir);
  if (user) fs.chownSync(pgDir, user.uid, user.gid);
  const logPath = path.join(dir, 'postgres.log');
  return new ServerProcess({
    name: 'postgres',
    command: path.join(bin, 'postgres'),
    args: [
      '-D',
      dataDir,
      '-p',
      String(info.postgres.port),
      '-c',
      `listen_addresses=${host}`,
      // A directory we own: the default /var/run/postgresql may not exist or be writable.
      '-c',
      `unix_socket_directories=${pgDir}`,
      // Durability is worthless for throwaway data; these make CREATE DATABASE and DDL fast.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      // Tests run several processes at once, each with pools, lock connections and CLI children.
      '-c',
      'max_connections=300',
    ],
    stopSignal: 'SIGINT',
    cwd: pgDir,
    logPath,
    user,
    prepare: async () => {
      const pwfile = path.join(pgDir, 'pwfile');
      fs.writeFileSync(pwfile, `${info.postgres.password}\n`, { mode: 0o600 });
      if (user) fs.chownSync(pwfile, user.uid, user.gid);
      await runToCompletion(
        path.join(bin, 'initdb'),
        [
          '-D',
          dataDir,
          '-U',
          'postgres',
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
          '--no-sync',
        ],
        { cwd: pgDir, logPath, user },
      );
      fs.rmSync(pwfile);
    },
    probe: async () => {
      const { port, user, password } = info.postgres;
      const client = new Client({ host, port, user, password, database: 'postgres', connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end();
      }
    },
  });
}

function etcdServer(dir: string, info: StackInfo, peerPort: number): ServerProcess {
  const peerUrl = `http://${host}:${peerPort}`;
  let authEnabled = false;
  return new ServerProcess({
    name: 'etcd',
    command: etcdBinary(),
    args: [
      '--name',
      'preflight-test',
      '--data-dir',
      path.join(dir, 'etcd'),
      '--listen-client-urls',
      info.etcd.endpoint,
      '--advertise-client-urls',
      info.etcd.endpoint,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `preflight-test=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      randomBytes(6).toString('hex'),
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
      // The minimum cost: every test client authenticates, and bcrypt at cost 10 takes ~50 ms.
      '--bcrypt-cost',
      '4',
      ...(etcdSupportsNoFsync() ? ['--unsafe-no-fsync'] : []),
    ],
    stopSignal: 'SIGTERM',
    cwd: dir,
    logPath: path.join(dir, 'etcd.log'),
    // The grpc-gateway's JSON API keeps probes free of the etcd3 client's retries and circuit breaker.
    probe: async () => {
      const [url, body] = authEnabled
        ? [`${info.etcd.endpoint}/v3/auth/authenticate`, { name: info.etcd.username, password: info.etcd.password }]
        : [`${info.etcd.endpoint}/v3/maintenance/status`, {}];
      const response = await fetch(url, {
        method: 'POST',
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(1000),
      });
      if (!response.ok) throw new Error(`etcd answered ${response.status}`);
      await response.text();
    },
    afterFirstStart: async () => {
      const client = new Etcd3({ hosts: info.etcd.endpoint });
      try {
        // etcd only enables auth when a user `root` exists and holds the role `root`.
        await client.role('root').create();
        await client.user('root').create(info.etcd.password);
        await client.user('root').addRole('root');
        await client.auth.authEnable();
      } finally {
        client.close();
      }
      authEnabled = true;
    },
  });
}

function redisServer(dir: string, info: StackInfo): ServerProcess {
  return new ServerProcess({
    name: 'redis',
    command: 'redis-server',
    args: [
      '--port',
      String(info.redis.port),
      '--bind',
      host,
      '--dir',
      dir,
      '--requirepass',
      info.redis.password,
      // AOF on, so preflight's persistence check passes; no RDB snapshots to slow anything down.
      '--appendonly',
      'yes',
      '--save',
      '',
      // One database per test (redisDb() hands out indices), so many more than the default 16.
      '--databases',
      '1024',
    ],
    stopSignal: 'SIGTERM',
    cwd: dir,
    logPath: path.join(dir, 'redis.log'),
    probe: () => redisPing(info.redis.port, info.redis.password),
  });
}

/** AUTH then PING in raw RESP: no client library retries or offline queue to reason about. */
function redisPing(port: number, password: string): Promise<void> {
  const command = (...parts: string[]): string =>
    `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('redis did not reply within 1 s')));
    socket.on('connect', () => socket.write(command('AUTH', password) + command('PING')));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.startsWith('-')) socket.destroy(new Error(`redis answered ${reply.split('\r\n')[0]}`));
      else if (reply === '+OK\r\n+PONG\r\n') socket.end(resolve);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`redis closed the connection after ${JSON.stringify(reply)}`)));
  });
}

/** Runs a one-shot command (initdb), appending its output to the server log. */
export function runToCompletion(
  command: string,
  args: string[],
  opts: { cwd: string; logPath: string; user?: { uid: number; gid: number } },
): Promise<void> {
  const logFd = fs.openSync(opts.logPath, 'a');
  const child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', logFd, logFd], ...opts.user });
  fs.closeSync(logFd);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} exited with ${code}:\n${fs.readFileSync(opts.logPath, 'utf8')}`)),
    );
  });
}
