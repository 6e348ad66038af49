import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { startStack, type StackInfo } from './stack';

export { spawnCli, runCli, cliPath, tempDir, type CliResult, type CliOptions } from './cli-runner';

/** Connection details of the test stack: PostgreSQL, etcd and Redis with their sentinel passwords. */
export type TestStackInfo = StackInfo;

let stackInfo: Promise<StackInfo> | undefined;

/**
 * The stack started by run-tests (PREFLIGHT_TEST_STACK). A test file run on its own
 * (`node --test dist/test/x.test.js`) starts a private stack on first use instead; its servers
 * stop and its temp dir is deleted when this process exits (see server-process.ts).
 */
export function testStack(): Promise<TestStackInfo> {
  stackInfo ??= loadStack();
  return stackInfo;
}

async function loadStack(): Promise<StackInfo> {
  const json = process.env.PREFLIGHT_TEST_STACK;
  if (json) return JSON.parse(json) as StackInfo;
  return (await startStack()).info;
}

function uniqueSuffix(): string {
  return randomBytes(6).toString('hex');
}

export interface TestDatabase {
  name: string;
  /** postgres://postgres:<pw>@127.0.0.1:<port>/<name> */
  url: string;
  /** runs one statement on a connection of this test's own, returning the rows */
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** A new, empty, uniquely named database (the whole cluster is thrown away after the run). */
export async function freshDatabase(): Promise<TestDatabase> {
  const { name, url } = await createDatabaseOn((await testStack()).postgres, 'test');
  let client: Promise<Client> | undefined;
  const connected = (): Promise<Client> => {
    client ??= (async () => {
      const created = new Client({ connectionString: url });
      await created.connect();
      return created;
    })();
    return client;
  };
  return {
    name,
    url,
    query: async (sql, params) => (await (await connected()).query(sql, params)).rows,
    close: async () => {
      if (client) await (await client).end();
      client = undefined;
    },
  };
}

/** Creates `<prefix>_<random>` on a stack's PostgreSQL (the shared one, or a test's private stack). */
export async function createDatabaseOn(
  postgres: StackInfo['postgres'],
  prefix: string,
): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${uniqueSuffix()}`;
  const admin = new Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `postgres://postgres:${encodeURIComponent(postgres.password)}@${postgres.host}:${postgres.port}/${name}`,
  };
}

export interface TestEtcdNamespace {
  /** `/test/<random>`; preflight puts its keys under it */
  namespace: string;
  /** authenticated as root and NOT namespaced: assertions spell out full keys */
  client: Etcd3;
  close(): Promise<void>;
}

export async function etcdNamespace(): Promise<TestEtcdNamespace> {
  const { etcd } = await testStack();
  const client = new Etcd3({ hosts: etcd.endpoint, auth: { username: etcd.username, password: etcd.password } });
  return { namespace: `/test/${uniqueSuffix()}`, client, close: async () => client.close() };
}

export interface TestRedisDb {
  /** a database index no other test in this run uses */
  index: number;
  /** redis://:<pw>@127.0.0.1:<port>/<index> */
  url: string;
  client: Redis;
  close(): Promise<void>;
}

const redisDatabases = 1024;

/** Indices come from INCR on db 0, so test processes running in parallel never collide. */
export async function redisDb(): Promise<TestRedisDb> {
  const { redis } = await testStack();
  const counter = new Redis(redis.url, { lazyConnect: true });
  let index: number;
  try {
    await counter.connect();
    index = await counter.incr('preflight-test:next-db-index');
  } finally {
    counter.disconnect();
  }
  if (index >= redisDatabases) {
    throw new Error(
      `redisDb(): all ${redisDatabases - 1} test Redis databases are used; raise --databases in test/support/stack.ts`,
    );
  }
  const url = `redis://:${encodeURIComponent(redis.password)}@${redis.host}:${redis.port}/${index}`;
  const client = new Redis(url);
  return { index, url, client, close: async () => client.disconnect() };
}

/** What preflightEnv() needs from freshDatabase(), etcdNamespace() and redisDb(). */
export interface PreflightEnvParts {
  db: { url: string };
  etcd?: { namespace: string };
  redis?: { url: string };
}

/**
 * The environment for a preflight child: the stores given, JSON logs and a short wait timeout,
 * plus PATH and HOME. Nothing else leaks in from this process (above all no PREFLIGHT_* variable,
 * which preflight would reject as unknown, and not PREFLIGHT_TEST_STACK with its passwords).
 */
export async function preflightEnv(parts: PreflightEnvParts): Promise<Record<string, string>> {
  const { etcd } = await testStack();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? os.homedir(),
    DATABASE_URL: parts.db.url,
    LOG_FORMAT: 'json',
    PREFLIGHT_WAIT_TIMEOUT: '10s',
  };
  if (parts.etcd) {
    Object.assign(env, {
      ETCD_ENDPOINTS: etcd.endpoint,
      ETCD_NAMESPACE: parts.etcd.namespace,
      ETCD_USERNAME: etcd.username,
      ETCD_PASSWORD: etcd.password,
    });
  }
  if (parts.redis) env.REDIS_URL = parts.redis.url;
  return env;
}
