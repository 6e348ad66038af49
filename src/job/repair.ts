import { hostname, userInfo } from 'node:os';
import type { Config } from '../config';
import type { Logger } from '../log/logger';
import { PreflightError } from '../core/errors';
import { preflightVersion } from '../core/version';
import { ensureLedger, readLedger } from '../postgres/ledger';
import { loadMigrations } from './load-migrations';
import { ensureMigrationsTable, readApplied } from '../postgres/migrations-table';
import {
  acceptChecksum,
  ensureRepairs,
  forget,
  markApplied,
  repairTransaction,
  type RepairRecord,
} from '../postgres/repairs';
import { acquireJobLock, classifyConnectionLoss, releaseJobLock } from './job-lock';
import { planMigrations } from './plan';
import { waitForPostgres } from './wait-for-stores';

/** What `preflight repair` was asked to do. */
export type RepairAction =
  { kind: 'applied' | 'rolled-back'; name: string } | { kind: 'accept-checksum'; names: string[] | 'all' };

/** Who ran the repair: the operating-system user and host (USER from the configured environment as a fallback). */
function operator(environment: Config['environment']): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = environment.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}`;
}

/**
 * Resolves a partial migration (the operator says whether it is now fully applied or fully undone),
 * or accepts this build's checksum for drifted migrations; under the job lock, recorded with who and
 * when in the repairs table. Returns one line per migration repaired.
 */
export async function repair(
  config: Config,
  log: Logger,
  signal: AbortSignal,
  action: RepairAction,
): Promise<string[]> {
  const sources = await loadMigrations(config, log);
  const client = await waitForPostgres(config, log, signal);
  const location = { schema: config.schema, table: config.migrationsTable };
  let lost: string | undefined;
  try {
    const lock = await acquireJobLock(client, config, log, signal);
    try {
      await ensureMigrationsTable(client, location);
      await ensureLedger(client, location);
      await ensureRepairs(client, location);
      const ledger = await readLedger(client, location);
      const plan = planMigrations(sources, await readApplied(client, location), ledger);
      const base = { repairedBy: operator(config.environment), preflightVersion };
      if (action.kind === 'accept-checksum') {
        const drifted =
          action.names === 'all' ? plan.drifted : action.names.map((name) => driftOf(name, plan.drifted, ledger));
        if (drifted.length === 0) return [];
        const records: RepairRecord[] = drifted.map((drift) => ({
          ...base,
          name: drift.name,
          action: 'accept-checksum',
          oldChecksum: drift.recorded,
          newChecksum: drift.current,
          detail: null,
        }));
        await repairTransaction(client, location, records, async () => {
          for (const drift of drifted) await acceptChecksum(client, location, drift.name, drift.current);
        });
        return drifted.map(
          (drift) => `${drift.name}: checksum ${drift.recorded.slice(0, 12)} → ${drift.current.slice(0, 12)}`,
        );
      }
      const row = ledger.get(action.name);
      if (!row || row.state === 'applied')
        throw new PreflightError(
          'data',
          `preflight repair ${action.name}: it is not a partial migration (${row ? 'it is applied' : 'the ledger does not record it'}); see preflight status`,
        );
      const record: RepairRecord = {
        ...base,
        name: action.name,
        action: action.kind,
        oldChecksum: row.checksum,
        newChecksum: null,
        detail: `${row.statementsDone} statements had committed, last: ${row.lastStatement ?? 'none'}`,
      };
      if (action.kind === 'rolled-back') {
        await repairTransaction(client, location, [record], () => forget(client, location, action.name));
        return [`${action.name}: recorded as rolled back; the next run applies it from its first statement`];
      }
      const source = sources.find((candidate) => candidate.name === action.name);
      const migration = source ?? { name: row.name, timestamp: Number(row.name.slice(-13)), checksum: row.checksum };
      await repairTransaction(client, location, [{ ...record, newChecksum: migration.checksum }], () =>
        markApplied(client, location, migration),
      );
      return [`${action.name}: recorded as applied`];
    } finally {
      lost = await releaseJobLock(client, lock, log);
    }
  } catch (error) {
    throw classifyConnectionLoss(error, lost);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function driftOf(
  name: string,
  drifted: Array<{ name: string; recorded: string; current: string }>,
  ledger: Map<string, unknown>,
): { name: string; recorded: string; current: string } {
  const drift = drifted.find((candidate) => candidate.name === name);
  if (drift) return drift;
  throw new PreflightError(
    'data',
    `preflight repair --accept-checksum ${name}: ${ledger.has(name) ? 'its checksum matches this build, nothing to accept' : 'the ledger does not record it as applied'}; see preflight status`,
  );
}
