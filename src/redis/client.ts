import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import type { RedisSettings } from '../config';

/**
 * A Redis client that fails fast instead of queueing commands and reconnecting on its own: the job
 * does the retrying. With Sentinel it asks the sentinels for the current master and talks only to
 * it (ioredis checks the role), so the wait, the persistence check and every write reach the master.
 */
export async function connectRedis(settings: RedisSettings): Promise<Redis> {
  const { default: IORedis } = await import('ioredis');
  const common: RedisOptions = {
    password: settings.password,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...(settings.tls ? { tls: tlsOptions(settings.tls) } : {}),
  };
  const client = settings.sentinel
    ? new IORedis({
        ...common,
        sentinels: settings.sentinel.hosts,
        name: settings.sentinel.master,
        sentinelPassword: settings.sentinel.password,
        sentinelRetryStrategy: () => null,
        db: settings.database,
      })
    : new IORedis(settings.url, common);
  // The 'error' event carries the real cause (ECONNREFUSED, WRONGPASS) where connect() only says
  // "Connection is closed"; keeping it also stops ioredis from printing it itself.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
    await client.ping();
    // ioredis only emits a failed SELECT as an event and carries on in database 0: check it here.
    if (settings.database > 0) await client.select(settings.database);
  } catch (error) {
    client.disconnect();
    throw lastError ?? error;
  }
  return client;
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

export async function readPersistence(client: Redis): Promise<RedisPersistence> {
  try {
    const appendonly = (await client.config('GET', 'appendonly')) as string[];
    const save = (await client.config('GET', 'save')) as string[];
    return { aof: appendonly[1] === 'yes', rdb: (save[1] ?? '').trim() !== '' };
  } catch {
    // CONFIG is often renamed or disabled on managed Redis; INFO still tells whether AOF is on.
    const info = await client.info('persistence');
    return { aof: /aof_enabled:1/.test(info), rdb: undefined };
  }
}
