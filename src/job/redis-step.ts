import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';
import { readPersistence } from '../redis/client';
import { PreflightError } from '../core/errors';

/**
 * Enforces PREFLIGHT_REDIS_PERSISTENCE: the platform keeps counters in Redis that must survive a
 * restart, so by default a Redis with neither AOF nor RDB snapshots is refused.
 */
export async function checkRedisPersistence(
  redis: Redis,
  policy: 'aof' | 'rdb' | 'any' | 'off',
  log: Logger,
): Promise<string> {
  if (policy === 'off') return 'not checked';
  const { aof, rdb } = await readPersistence(redis);
  const found =
    [aof ? 'aof' : undefined, rdb ? 'rdb' : undefined].filter(Boolean).join('+') ||
    (rdb === undefined ? 'unknown' : 'none');
  if (rdb === undefined && !aof) {
    log.warn({
      event: 'redis.persistence_unknown',
      policy,
      message: 'Redis does not allow CONFIG GET and INFO shows no AOF; cannot tell whether RDB snapshots are on',
    });
    return found;
  }
  const satisfied = policy === 'aof' ? aof : policy === 'rdb' ? rdb === true : aof || rdb === true;
  if (!satisfied) {
    const want =
      policy === 'any'
        ? 'AOF (appendonly yes) or RDB snapshots (save ...)'
        : policy === 'aof'
          ? 'AOF (appendonly yes)'
          : 'RDB snapshots (save ...)';
    throw new PreflightError(
      'unavailable',
      `Redis would lose data on restart: persistence is ${found}, PREFLIGHT_REDIS_PERSISTENCE=${policy} needs ${want}; enable it in redis.conf, or set PREFLIGHT_REDIS_PERSISTENCE=off`,
    );
  }
  log.info({ event: 'redis.persistence_ok', persistence: found, policy });
  return found;
}
