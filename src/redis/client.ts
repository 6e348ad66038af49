import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisSettings } from '../config';
import { RedisClient, type RedisEndpoint } from './connection';
import { ReplyError, type RedisArgument, type RedisReply } from './resp';

export type { RedisClient } from './connection';

const connectTimeoutMs = 3000;

/**
 * Connects, authenticates, selects the database and checks that the server answers, or throws the
 * first failure: the socket's error (ECONNREFUSED, a TLS code, `connect ETIMEDOUT` after 3 s) or the
 * server's error reply (WRONGPASS, NOAUTH, "DB index is out of range"). With Sentinel it asks the
 * sentinels in turn for the master's address and keeps only a server that answers ROLE as master,
 * so the wait, the persistence check and every write reach the master. Never retries: the job does.
 */
export async function connectRedis(settings: RedisSettings): Promise<RedisClient> {
  if (settings.sentinel) return connectThroughSentinels(settings, settings.sentinel);
  const url = new URL(settings.url);
  const endpoint: RedisEndpoint = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 6379),
    ...(settings.tls ? { tls: tlsOptions(settings.tls) } : {}),
  };
  const password = url.password ? decodeURIComponent(url.password) : settings.password;
  return RedisClient.open(endpoint, connectTimeoutMs, async (client) => {
    await prepare(client, decodeURIComponent(url.username), password, settings.database, ['PING']);
  });
}

/** AUTH, SELECT and a last command (PING, or ROLE to see a master), pipelined: one round trip. */
async function prepare(
  client: RedisClient,
  username: string,
  password: string | undefined,
  database: number,
  last: RedisArgument[],
): Promise<RedisReply> {
  const auth = password === undefined ? [] : [username ? ['AUTH', username, password] : ['AUTH', password]];
  const select = database > 0 ? [['SELECT', database]] : [];
  const replies = await client.send([...auth, ...select, last]);
  for (const [index, reply] of replies.entries()) {
    // A password the server does not ask for is not an error (ioredis only warns about it).
    const harmless = index < auth.length && reply instanceof ReplyError && unrequestedPassword.test(reply.message);
    if (reply instanceof ReplyError && !harmless) throw reply;
  }
  return replies[replies.length - 1];
}

const unrequestedPassword = /no password is set|without any password configured/;

async function connectThroughSentinels(
  settings: RedisSettings,
  sentinel: NonNullable<RedisSettings['sentinel']>,
): Promise<RedisClient> {
  const failures: string[] = [];
  for (const { host, port } of sentinel.hosts) {
    try {
      const master = await askSentinel({ host, port }, sentinel.master, sentinel.password);
      if (!master) {
        failures.push(`sentinel ${host}:${port} knows no master "${sentinel.master}"`);
        continue;
      }
      return await RedisClient.open(master, connectTimeoutMs, async (client) => {
        const role = await prepare(client, '', settings.password, settings.database, ['ROLE']);
        const name = Array.isArray(role) ? role[0] : role;
        if (name !== 'master')
          throw new Error(`${master.host}:${master.port} answers ROLE ${String(name)}, not master`);
      });
    } catch (error) {
      failures.push(`${host}:${port}: ${(error as Error).message}`);
    }
  }
  // The server's text stays in the message (WRONGPASS from a sentinel or the master is not retried).
  throw new Error(`no sentinel led to the master "${sentinel.master}": ${failures.join('; ')}`);
}

/** The master's address as this sentinel knows it now, or undefined when it knows no such master. */
async function askSentinel(
  endpoint: RedisEndpoint,
  master: string,
  password: string | undefined,
): Promise<RedisEndpoint | undefined> {
  let address: RedisReply = null;
  const client = await RedisClient.open(endpoint, connectTimeoutMs, async (sentinel) => {
    address = await prepare(sentinel, '', password, 0, ['SENTINEL', 'get-master-addr-by-name', master]);
  });
  client.disconnect();
  if (!Array.isArray(address) || typeof address[0] !== 'string') return undefined;
  return { host: address[0], port: Number(address[1]) };
}

function tlsOptions(files: NonNullable<RedisSettings['tls']>): ConnectionOptions {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  return { ca: read(files.caFile), cert: read(files.certFile), key: read(files.keyFile) };
}

/** Whether Redis keeps data across a restart: AOF on, and/or RDB snapshots scheduled. */
export interface RedisPersistence {
  aof: boolean;
  /** undefined when the server does not allow CONFIG (managed Redis) and INFO cannot tell */
  rdb: boolean | undefined;
}

export async function readPersistence(client: RedisClient): Promise<RedisPersistence> {
  const [appendonly, save] = await client.send([
    ['CONFIG', 'GET', 'appendonly'],
    ['CONFIG', 'GET', 'save'],
  ]);
  if (Array.isArray(appendonly) && Array.isArray(save)) {
    return { aof: appendonly[1] === 'yes', rdb: String(save[1] ?? '').trim() !== '' };
  }
  // CONFIG is often renamed or disabled on managed Redis; INFO still tells whether AOF is on.
  const info = await client.info('persistence');
  return { aof: /aof_enabled:1/.test(info), rdb: undefined };
}
