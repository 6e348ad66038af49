import type { Redis } from 'ioredis';
import type { RedisSettings } from '../config';

/** A Redis client that fails fast instead of queueing commands and reconnecting on its own: the job does the retrying. */
export async function connectRedis(settings: RedisSettings): Promise<Redis> {
  const { default: IORedis } = await import('ioredis');
  const client = new IORedis(settings.url, {
    password: settings.password,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The 'error' event carries the real cause (ECONNREFUSED, WRONGPASS) where connect() only says
  // "Connection is closed"; keeping it also stops ioredis from printing it itself.
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  try {
    await client.connect();
    await client.ping();
    // ioredis only emits a failed SELECT as an event and carries on in database 0: check it here.
    const database = Number(new URL(settings.url).pathname.slice(1) || 0);
    if (database > 0) await client.select(database);
  } catch (error) {
    client.disconnect();
    throw lastError ?? error;
  }
  return client;
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
