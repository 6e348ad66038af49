import type { Client } from 'pg';
import type { RedisClient as Redis } from '../redis/client';
import type { Config, RedisSettings } from '../config';
import { formatDuration } from '../core/duration';
import type { Logger } from '../log/logger';
import { connect, createDatabase, serverVersionNumber, sqlState } from '../postgres/connection';
import { EtcdAccess } from '../etcd/access';
import { connectRedis } from '../redis/client';
import { PreflightError, reasonOf } from '../core/errors';
import { retrying, type RetryOptions } from '../core/retry';
import { isTlsVerificationError } from '../core/tls-errors';
import { createDatabaseFailure, describePostgres, permanentPostgresFailure } from './postgres-failure';

/** Waiting for a store: 100 ms doubling to 2 s, until PREFLIGHT_WAIT_TIMEOUT. */
function waitPolicy(
  config: Pick<Config, 'waitTimeoutMs'>,
  log: Logger,
  signal: AbortSignal,
  store: string,
  isPermanent: (error: unknown) => boolean,
): RetryOptions {
  return {
    initialDelayMs: 100,
    maxDelayMs: 2000,
    timeoutMs: config.waitTimeoutMs,
    signal,
    isRetryable: (error) => !isPermanent(error),
    onRetry: (attempt, error, delayMs) =>
      log.info({ event: 'wait.retry', store, attempt, delayMs, error: reasonOf(error) }),
  };
}

const minimumServerVersion = 120000;

/** Connects to PostgreSQL, creating the database when asked to; the returned client is the job's lock connection. */
export async function waitForPostgres(config: Config, log: Logger, signal: AbortSignal): Promise<Client> {
  const started = performance.now();
  const client = await retrying(
    async ({ remainingMs }) => {
      try {
        return await connect(config.postgres, config.applicationName, undefined, Math.min(remainingMs, 5000));
      } catch (error) {
        if (sqlState(error) === '3D000' && config.createDatabase) {
          const created = await createDatabase(config.postgres, config.applicationName).catch((failure: unknown) => {
            throw createDatabaseFailure(failure, config);
          });
          log.info({ event: 'postgres.database_created', database: config.postgres.database, created });
          return connect(config.postgres, config.applicationName);
        }
        throw error;
      }
    },
    waitPolicy(config, log, signal, 'postgres', (error) => permanentPostgresFailure(error, config) !== undefined),
  ).catch((error: unknown) => {
    const permanent = permanentPostgresFailure(error, config);
    if (permanent) throw permanent;
    throw new PreflightError(
      'unavailable',
      `${describePostgres(config)} not reachable within ${formatDuration(config.waitTimeoutMs)}: ${reasonOf(error)}`,
      { cause: error },
    );
  });
  const version = await serverVersionNumber(client);
  if (version < minimumServerVersion) {
    await client.end();
    throw new PreflightError(
      'unavailable',
      `${describePostgres(config)} runs PostgreSQL ${Math.floor(version / 10000)}; preflight needs 12 or newer`,
    );
  }
  log.info({
    event: 'wait.ready',
    store: 'postgres',
    serverVersion: version,
    durationMs: Math.round(performance.now() - started),
  });
  return client;
}

export async function waitForEtcd(
  config: Pick<Config, 'etcd' | 'waitTimeoutMs'>,
  log: Logger,
  signal: AbortSignal,
): Promise<EtcdAccess | undefined> {
  const settings = config.etcd;
  if (!settings) return undefined;
  const started = performance.now();
  // Reads go through etcd's JSON gateway; etcd3 (gRPC, protobufjs) is loaded only to write.
  const client = new EtcdAccess(settings);
  try {
    await retrying(
      () => client.ping(),
      waitPolicy(config, log, signal, 'etcd', (error) => error instanceof PreflightError),
    );
  } catch (error) {
    await client.close();
    if (error instanceof PreflightError && error.kind === 'config') {
      throw new PreflightError('config', `etcd at ${settings.endpoints.join(',')}: ${error.message}`, {
        cause: error.cause,
      });
    }
    if (error instanceof PreflightError) throw error;
    throw new PreflightError(
      'unavailable',
      `etcd at ${settings.endpoints.join(',')} not reachable within ${formatDuration(config.waitTimeoutMs)}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  log.info({ event: 'wait.ready', store: 'etcd', durationMs: Math.round(performance.now() - started) });
  return client;
}

export async function waitForRedis(config: Config, log: Logger, signal: AbortSignal): Promise<Redis | undefined> {
  const settings = config.redis;
  if (!settings) return undefined;
  const started = performance.now();
  const isAuthError = (error: unknown) => /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(reasonOf(error));
  const isBadDatabase = (error: unknown) => /DB index is out of range/i.test(reasonOf(error));
  const client = await retrying(
    () => connectRedis(settings),
    waitPolicy(
      config,
      log,
      signal,
      'redis',
      (error) => isAuthError(error) || isBadDatabase(error) || isTlsVerificationError(error),
    ),
  ).catch((error: unknown) => {
    if (error instanceof PreflightError) throw error;
    if (isTlsVerificationError(error)) {
      throw new PreflightError(
        'config',
        `Redis at ${redisHost(settings.url, settings)}: the server's TLS certificate did not verify (${reasonOf(error)}): set REDIS_TLS_CA_FILE to the CA that signed it`,
        { cause: error },
      );
    }
    if (isBadDatabase(error)) {
      throw new PreflightError(
        'config',
        `REDIS_URL: Redis at ${redisHost(settings.url, settings)} has no such database (${reasonOf(error)}): use an index below the server's "databases" setting`,
        { cause: error },
      );
    }
    if (isAuthError(error)) {
      throw new PreflightError(
        'config',
        `Redis at ${redisHost(settings.url, settings)} rejected the credentials: check REDIS_URL or REDIS_PASSWORD (${reasonOf(error)})`,
        { cause: error },
      );
    }
    throw new PreflightError(
      'unavailable',
      `Redis at ${redisHost(settings.url, settings)} not reachable within ${formatDuration(config.waitTimeoutMs)}: ${reasonOf(error)}`,
      { cause: error },
    );
  });
  log.info({ event: 'wait.ready', store: 'redis', durationMs: Math.round(performance.now() - started) });
  return client;
}

/** host:port of a Redis URL, never its credentials; with Sentinel the master's name and the sentinels. */
function redisHost(url: string, settings?: RedisSettings): string {
  if (settings?.sentinel) {
    const sentinels = settings.sentinel.hosts.map(({ host, port }) => `${host}:${port}`).join(',');
    return `master ${settings.sentinel.master} (sentinels ${sentinels})`;
  }
  const { host, pathname } = new URL(url);
  return `${host}${pathname.length > 1 ? pathname : ''}`;
}
