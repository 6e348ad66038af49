import { hostname } from 'node:os';
import type { Client } from 'pg';
import type { Etcd3 } from 'etcd3';
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import type { FixtureFile } from '../etcd/fixture-file';
import { unlock } from '../postgres/advisory-lock';
import { ensureLedger, readLedger } from '../postgres/ledger';
import { migrationCatalog } from '../postgres/manifest';
import { ensureMigrationsTable, readApplied } from '../postgres/migrations-table';
import { prepareMigrations, runMigrations } from '../postgres/run-migrations';
import { adoptUnrecorded, executorOptions } from './migrate-step';
import { backupBeforeMigrating } from './backup';
import { checkSecretsDir, seedAdmin } from './seed-admin';
import { applyBaseline } from '../postgres/apply-baseline';
import { PreflightError, asPreflightError, exitCodeOf, reasonOf } from '../core/errors';
import { acquireJobLock } from './job-lock';
import { checkPrivileges } from './check-privileges';
import { planMigrations, planRefusal } from './plan';
import { checkRedisPersistence } from './redis-step';
import { interrupted } from '../core/retry';
import type { JobReport, StepRecord } from './report';
import { waitForEtcd, waitForPostgres, waitForRedis } from './wait-for-stores';
import { preflightVersion } from '../core/version';

/** The stores the job holds open; closed in one place whatever happens. */
interface Connections {
  lockClient?: Client;
  etcd?: Etcd3;
  redis?: Redis;
}

/**
 * The whole job: wait → check → lock → plan → migrate → seed → fixtures. Throws nothing: the outcome,
 * failure included, is the returned report, whose exitCode the CLI exits with.
 */
export interface JobOutcome {
  report: JobReport;
  /** what ended the job, when it failed; the report carries its one-line message */
  error?: unknown;
}

export async function runJob(config: Config, log: Logger, signal: AbortSignal): Promise<JobOutcome> {
  const startedAt = new Date();
  const started = performance.now();
  const steps: StepRecord[] = [];
  const connections: Connections = {};
  let lockWaitMs: number | null = null;
  let migrationPid: number | undefined;
  const cancelRunningStatement = () => {
    if (migrationPid === undefined || !connections.lockClient) return;
    log.warn({ event: 'job.stopping', reason: String(signal.reason), cancelling: `backend ${migrationPid}` });
    connections.lockClient.query('SELECT pg_cancel_backend($1)', [migrationPid]).catch((error: unknown) => {
      log.warn({ event: 'job.cancel_failed', error: reasonOf(error) });
    });
  };
  signal.addEventListener('abort', cancelRunningStatement, { once: true });

  const step = async <T>(
    name: string,
    work: () => Promise<{ status: StepRecord['status']; details?: Record<string, unknown>; value: T }>,
  ): Promise<T> => {
    if (signal.aborted) throw interrupted(signal, `before ${name}`);
    const stepStarted = performance.now();
    try {
      const { status, details, value } = await work();
      steps.push({ step: name, status, durationMs: Math.round(performance.now() - stepStarted), details });
      return value;
    } catch (error) {
      steps.push({ step: name, status: 'failed', durationMs: Math.round(performance.now() - stepStarted) });
      throw error;
    }
  };

  let failure: unknown;
  try {
    const [lockClient, etcd, redis] = await step('wait', async () => {
      const settled = await Promise.allSettled([
        waitForPostgres(config, log, signal),
        waitForEtcd(config, log, signal),
        waitForRedis(config, log, signal),
      ]);
      const [pg, etcdResult, redisResult] = settled;
      connections.lockClient = pg.status === 'fulfilled' ? pg.value : undefined;
      connections.etcd = etcdResult.status === 'fulfilled' ? etcdResult.value : undefined;
      connections.redis = redisResult.status === 'fulfilled' ? redisResult.value : undefined;
      const rejected = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (rejected) throw rejected.reason;
      const stores = ['postgres', ...(config.etcd ? ['etcd'] : []), ...(config.redis ? ['redis'] : [])];
      return {
        status: 'applied',
        details: { stores },
        value: [connections.lockClient!, connections.etcd, connections.redis] as const,
      };
    });

    // Everything that can reject bad input is checked before the first write to any store.
    const fixtures = await step('check', async () => {
      const persistence = redis
        ? await checkRedisPersistence(redis, config.redisPersistence, log)
        : 'no redis configured';
      await checkSecretsDir(config);
      await checkPrivileges(lockClient, config); // issue 12: 77 before any write
      // The fixture code (yaml, etcd3) is loaded only when etcd is configured.
      const files: FixtureFile[] = etcd
        ? await (await import('../etcd/fixture-file')).loadFixtureFiles(config.fixturesDir, config.fixtureEnv)
        : [];
      const sources = await migrationCatalog(config.migrationsPath);
      return {
        status: 'applied',
        details: { redisPersistence: persistence, fixtureFiles: files.length, migrations: sources.length },
        value: { files, sources },
      };
    });

    const lock = await step('lock', async () => {
      const held = await acquireJobLock(lockClient, config, log, signal);
      lockWaitMs = held.waitedMs;
      return { status: 'applied', details: { waitedMs: held.waitedMs }, value: held };
    });
    try {
      const location = { schema: config.schema, table: config.migrationsTable };
      const plan = await step('plan', async () => {
        const migrationPlan = planMigrations(
          fixtures.sources,
          await readApplied(lockClient, location),
          await readLedger(lockClient, location),
        );
        const refusal = planRefusal(migrationPlan, config);
        if (refusal) throw refusal;
        if (migrationPlan.unknown.length > 0) {
          log.warn({
            event: 'plan.unknown_applied',
            names: migrationPlan.unknown.map((migration) => migration.name),
            message:
              'proceeding although the database holds migrations this build does not know (PREFLIGHT_ALLOW_UNKNOWN=true)',
          });
        }
        if (migrationPlan.outOfOrder.length > 0) {
          log.warn({
            event: 'plan.out_of_order',
            names: migrationPlan.outOfOrder.map((source) => source.name),
            message: 'applying migrations older than the newest applied one (PREFLIGHT_ALLOW_OUT_OF_ORDER=true)',
          });
        }
        log.info({ event: 'plan.ready', applied: migrationPlan.applied.length, pending: migrationPlan.pending.length });
        return {
          status: 'applied',
          details: {
            applied: migrationPlan.applied.length,
            pending: migrationPlan.pending.map((source) => source.name),
          },
          value: migrationPlan,
        };
      });

      await step('migrate', async () => {
        if (plan.pending.length === 0 && plan.unrecorded.length === 0) return { status: 'unchanged', value: undefined };
        await prepareMigrations(plan.pending, config.transactionMode);
        const backup =
          plan.pending.length > 0 && config.backupDir ? await backupBeforeMigrating(config, log, signal) : undefined;
        const baselined =
          config.baseline && plan.applied.length === 0
            ? await applyBaseline(
                lockClient,
                config,
                location,
                fixtures.sources,
                log,
                executorOptions(config, log, signal, lockClient, () => undefined, { etcd, redis }).context,
              )
            : [];
        await ensureMigrationsTable(lockClient, location);
        await ensureLedger(lockClient, location);
        const adopted = await adoptUnrecorded(lockClient, location, plan.unrecorded, log);
        const pending = plan.pending.filter((source) => !baselined.includes(source.name));
        const runs = await runMigrations(
          pending,
          executorOptions(config, log, signal, lockClient, (pid) => (migrationPid = pid), { etcd, redis }),
        );
        migrationPid = undefined;
        if (signal.aborted) throw interrupted(signal, 'between migrations');
        return {
          status: 'applied',
          details: {
            applied: runs.map((run) => ({ name: run.name, durationMs: run.durationMs })),
            ...(adopted > 0 ? { adopted } : {}),
            ...(backup ? { backup } : {}),
            ...(baselined.length > 0 ? { baseline: baselined.length } : {}),
          },
          value: runs,
        };
      });

      await step('seed', async () => {
        const seeded = await seedAdmin(lockClient, config, log);
        return {
          status: seeded.status,
          details: seeded.reason || seeded.file ? { reason: seeded.reason, file: seeded.file } : undefined,
          value: seeded,
        };
      });

      await step('fixtures', async () => {
        if (!etcd) return { status: 'skipped', details: { reason: 'ETCD_ENDPOINTS not set' }, value: undefined };
        const { applyFixtures } = await import('../etcd/apply-fixtures');
        const results = await applyFixtures(etcd, config.etcd!.namespace, fixtures.files, log);
        const changed = results.filter((result) => result.status === 'applied');
        return {
          status: changed.length > 0 ? 'applied' : 'unchanged',
          details: {
            files: results.length,
            changed: changed.map((result) => ({ file: result.file, puts: result.puts, deletes: result.deletes })),
          },
          value: results,
        };
      });
    } finally {
      await unlock(lockClient, lock.keys).catch((error: unknown) =>
        log.warn({ event: 'lock.release_failed', error: reasonOf(error) }),
      );
    }
  } catch (error) {
    failure =
      signal.aborted && !(error instanceof PreflightError && (error.kind === 'sigint' || error.kind === 'sigterm'))
        ? interrupted(signal)
        : asPreflightError(error); // an informative SQLSTATE is no bug (issue 12)
  } finally {
    signal.removeEventListener('abort', cancelRunningStatement);
    await closeAll(connections, log);
  }

  const report: JobReport = {
    status: failure === undefined ? 'ok' : 'failed',
    exitCode: failure === undefined ? 0 : exitCodeOf(failure),
    preflightVersion,
    host: hostname(),
    database: config.postgres.database,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    lockWaitMs,
    steps,
    error:
      failure === undefined
        ? undefined
        : failure instanceof PreflightError
          ? failure.message
          : `internal error: ${reasonOf(failure)}`,
  };
  return { report, error: failure };
}

async function closeAll(connections: Connections, log: Logger): Promise<void> {
  const closing: Array<Promise<unknown>> = [];
  if (connections.lockClient) closing.push(connections.lockClient.end());
  if (connections.etcd) closing.push(Promise.resolve(connections.etcd.close()));
  if (connections.redis) closing.push(connections.redis.quit());
  for (const result of await Promise.allSettled(closing)) {
    if (result.status === 'rejected') log.debug({ event: 'job.close_failed', error: reasonOf(result.reason) });
  }
}
