import { PreflightError } from '../core/errors';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import type { EtcdAccess } from '../etcd/access';
import type { FixtureFileResult, FixturePlan } from '../etcd/apply-fixtures';
import type { FixtureFile } from '../etcd/fixture-file';
import { waitForEtcd } from './wait-for-stores';

/** What the fixture commands need of the configuration: etcd, the files and the secrets; no PostgreSQL. */
export type FixturesConfig = Pick<Config, 'etcd' | 'waitTimeoutMs' | 'fixturesDir' | 'environment' | 'secrets'>;

/** Whether etcd holds what the fixture files say, for `fixtures diff`, `status` and `run --dry-run`. */
export interface FixtureSync {
  /** in-sync: an apply would write nothing; changes: it would write (keys, or only a file's hash record) */
  state: 'in-sync' | 'changes';
  /** the files an apply would write, in file-name order */
  changedFiles: string[];
  /** keys an apply would put / delete */
  puts: number;
  deletes: number;
  /** the key-level changes a person reads, secret values masked as *** */
  lines: string[];
}

const mask = '***';

/** Loads and validates the fixture files (no store needed), then connects to etcd and plans them. */
export async function planFixtureSync(config: FixturesConfig, log: Logger, signal: AbortSignal): Promise<FixtureSync> {
  return withFixtures(config, log, signal, async (client, namespace, files) => {
    const { planFixtures } = await import('../etcd/plan-fixtures');
    const { isSecretKey } = await import('../etcd/secret-values');
    return describePlan(await planFixtures(client, namespace, files), config.secrets, isSecretKey);
  });
}

/** `fixtures apply`: the fixture step of the job on its own, without PostgreSQL or the job lock. */
export async function applyFixtureFiles(
  config: FixturesConfig,
  log: Logger,
  signal: AbortSignal,
): Promise<FixtureFileResult[]> {
  return withFixtures(config, log, signal, async (client, namespace, files) => {
    const { applyFixtures } = await import('../etcd/apply-fixtures');
    return applyFixtures(client, namespace, files, log, signal);
  });
}

async function withFixtures<T>(
  config: FixturesConfig,
  log: Logger,
  signal: AbortSignal,
  work: (client: EtcdAccess, namespace: string, files: FixtureFile[]) => Promise<T>,
): Promise<T> {
  const settings = config.etcd;
  if (!settings)
    throw new PreflightError(
      'config',
      'ETCD_ENDPOINTS is not set: fixtures are applied to etcd, so set ETCD_ENDPOINTS',
    );
  if (config.fixturesDir === null)
    throw new PreflightError(
      'config',
      'fixtures are off (PREFLIGHT_FIXTURES=off, or PREFLIGHT_MIGRATIONS without PREFLIGHT_FIXTURES): set PREFLIGHT_FIXTURES to a directory',
    );
  const { loadFixtureFiles } = await import('../etcd/fixture-file');
  const files = await loadFixtureFiles(config.fixturesDir, config.environment);
  const client = await waitForEtcd(config, log, signal);
  try {
    return await work(client!, settings.namespace, files);
  } finally {
    await client?.close();
  }
}

function describePlan(
  plan: FixturePlan,
  secrets: readonly string[],
  isSecretKey: (key: string) => boolean,
): FixtureSync {
  const lines: string[] = [];
  const changedFiles: string[] = [];
  let puts = 0;
  let deletes = 0;
  for (const { fixture, status, puts: filePuts, deletes: fileDeletes } of plan.files) {
    if (status === 'unchanged') {
      lines.push(`${fixture.file}: unchanged`);
      continue;
    }
    changedFiles.push(fixture.file);
    puts += filePuts.length;
    deletes += fileDeletes.length;
    const count = filePuts.length + fileDeletes.length;
    lines.push(
      count === 0
        ? `${fixture.file}: etcd already holds every key; apply records the file as applied`
        : `${fixture.file}: ${count} ${count === 1 ? 'change' : 'changes'} (mode ${fixture.mode})`,
    );
    const shown = (key: string, value: string): string =>
      fixture.secretKeys.has(key) ||
      isSecretKey(key) ||
      secrets.some((secret) => secret !== '' && value.includes(secret))
        ? mask
        : JSON.stringify(value);
    for (const { key, before, after } of filePuts) {
      lines.push(
        before === undefined
          ? `  + ${key} = ${shown(key, after ?? '')}`
          : `  ~ ${key}: ${shown(key, before)} -> ${shown(key, after ?? '')}`,
      );
    }
    for (const { key, before } of fileDeletes) lines.push(`  - ${key} (was ${shown(key, before ?? '')})`);
  }
  for (const record of plan.staleRecords)
    lines.push(`note: ${record} records a file no longer shipped; its keys are left alone`);
  return { state: changedFiles.length > 0 ? 'changes' : 'in-sync', changedFiles, puts, deletes, lines };
}
