import type { RedisClient as Redis } from '../../redis/client';
import type { Config } from '../../config';
import { PreflightError } from '../../core/errors';
import type { FixtureFile } from '../../etcd/fixture-file';
import type { Logger } from '../../log/logger';
import type { MigrationSource } from '../../postgres/migration-source';
import { baselineKnownFiles } from '../../postgres/apply-baseline';
import { readKnownFiles } from '../../postgres/known-files';
import { readPersistence } from '../../redis/client';
import { checkFixturesChoice, loadMigrations } from '../load-migrations';
import { checkSecretsDir } from './seed';
import { sessionOf, type Step } from './step';
import { checkPrivileges } from '../check-privileges';

export interface CheckedInput {
  /** the fixture files, parsed and validated (none when etcd is not configured) */
  files: FixtureFile[];
  /** this build's migrations, from the manifest or the directory */
  sources: MigrationSource[];
}

/** Everything that can reject bad input, checked before the first write to any store. */
export const checkStep: Step<void, CheckedInput> = {
  name: 'check',
  async run(job) {
    const { config, log, etcd, redis } = job;
    const session = sessionOf(job);
    const location = { schema: config.schema, table: config.migrationsTable };
    // Independent checks run at once (the stores answer while files are read and hashed); a failure is
    // reported in this order whatever finished first.
    const [persistence, , , files, sources] = await allInOrder([
      redis ? checkRedisPersistence(redis, config.redisPersistence, log) : 'no redis configured',
      checkSecretsDir(config),
      checkPrivileges(session, config), // issue 12: 77 before any write
      // The fixture code (yaml, etcd3) is loaded only when etcd is configured.
      checkFixturesChoice(config, log).then(async () =>
        etcd && config.fixturesDir !== null
          ? (await import('../../etcd/fixture-file')).loadFixtureFiles(config.fixturesDir, config.environment)
          : [],
      ),
      // A file the ledger remembers with the same content is not loaded: the no-op loads no module (issue 15).
      // On an empty database the snapshot's header knows the files instead.
      (config.dataSourceFile === undefined ? readKnownFiles(session, location) : Promise.resolve(undefined)).then(
        (known) =>
          loadMigrations(
            config,
            log,
            known?.size === 0 && config.baseline ? baselineKnownFiles(config.migrationsPath) : known,
          ),
      ),
    ]);
    return {
      status: 'applied',
      details: { redisPersistence: persistence, fixtureFiles: files.length, migrations: sources.length },
      value: { files, sources },
    };
  },
};

/** Awaits every one of `work`, then throws the first failure in the given order, or returns the values. */
async function allInOrder<T extends readonly unknown[] | []>(
  work: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = (await Promise.allSettled(work)) as Array<PromiseSettledResult<unknown>>;
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

/**
 * Enforces PREFLIGHT_REDIS_PERSISTENCE: the platform keeps counters in Redis that must survive a
 * restart, so by default a Redis with neither AOF nor RDB snapshots is refused (69).
 */
async function checkRedisPersistence(redis: Redis, policy: Config['redisPersistence'], log: Logger): Promise<string> {
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
