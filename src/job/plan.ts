import type { LedgerRow } from '../postgres/ledger';
import type { AppliedMigration } from '../postgres/migrations-table';
import type { MigrationSource } from '../postgres/migration-source';
import { PreflightError } from '../core/errors';

/** What the build holds compared with what the database records. */
export interface MigrationPlan {
  /** every migration of this build */
  sources: MigrationSource[];
  applied: AppliedMigration[];
  /** in the build, not in the database, in timestamp order */
  pending: MigrationSource[];
  /** in the database, not in this build (the database is ahead of the code) */
  unknown: AppliedMigration[];
  /** applied, but the build's checksum differs from the one recorded when it was applied */
  drifted: Array<{ name: string; recorded: string; current: string; checksumFrom: 'source' | 'compiled' }>;
  /** pending, yet older than the newest applied migration */
  outOfOrder: MigrationSource[];
  /** applied (by TypeORM's CLI or an older preflight) but never checksummed: recorded on the next run */
  unrecorded: MigrationSource[];
  /** recorded more than once in TypeORM's table: applied twice */
  duplicates: string[];
  /** `transaction = false` migrations that stopped after some statements committed: `preflight repair` decides */
  partial: Array<{ name: string; statementsDone: number; lastStatement: string | null }>;
}

export function planMigrations(
  sources: MigrationSource[],
  applied: AppliedMigration[],
  ledger: Map<string, LedgerRow>,
): MigrationPlan {
  const appliedNames = new Set(applied.map((migration) => migration.name));
  const sourceNames = new Set(sources.map((source) => source.name));
  const newestApplied = Math.max(-Infinity, ...applied.map((migration) => migration.timestamp));
  const pending = sources.filter((source) => !appliedNames.has(source.name));
  const appliedSources = sources.filter((source) => appliedNames.has(source.name));
  return {
    sources,
    applied,
    pending,
    unknown: applied.filter((migration) => !sourceNames.has(migration.name)),
    drifted: appliedSources
      .filter((source) => isDrifted(source, ledger.get(source.name)))
      .map((source) => ({
        name: source.name,
        recorded: ledger.get(source.name)!.checksum,
        current: source.checksum,
        checksumFrom: source.checksumFrom,
      })),
    outOfOrder: pending.filter((source) => source.timestamp < newestApplied),
    unrecorded: appliedSources.filter((source) => !ledger.has(source.name)),
    duplicates: duplicateNames(applied),
    partial: [...ledger.values()]
      .filter((row) => !appliedNames.has(row.name) && (row.state === 'partial' || row.statementsDone > 0))
      .map((row) => ({ name: row.name, statementsDone: row.statementsDone, lastStatement: row.lastStatement })),
  };
}

function duplicateNames(applied: AppliedMigration[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const { name } of applied) (seen.has(name) ? twice : seen).add(name);
  return [...twice];
}

/** Recorded, and matching neither the source's checksum nor the compiled file's (an earlier run may have had only that). */
function isDrifted(source: MigrationSource, recorded: LedgerRow | undefined): boolean {
  return (
    recorded !== undefined && recorded.checksum !== source.checksum && recorded.checksum !== source.compiledChecksum
  );
}

export interface PlanPolicy {
  /** PREFLIGHT_ALLOW_UNKNOWN: go on when the database holds migrations this build does not know */
  allowUnknown: boolean;
  /** PREFLIGHT_ALLOW_OUT_OF_ORDER: apply pending migrations older than the newest applied one */
  allowOutOfOrder: boolean;
}

const listed = (names: string[]) =>
  names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');

/** The refusal (exit 65) an unsafe plan deserves, naming the migrations and the way out; undefined when safe. */
export function planRefusal(plan: MigrationPlan, policy: PlanPolicy): PreflightError | undefined {
  if (plan.duplicates.length > 0) {
    return new PreflightError(
      'data',
      `migration ${listed(plan.duplicates)} is recorded more than once in the migrations table (it was applied twice): check its effects, delete the extra rows, then re-run`,
      { details: plan.duplicates },
    );
  }
  if (plan.partial.length > 0) {
    const [first] = plan.partial;
    return new PreflightError(
      'data',
      `migration ${listed(plan.partial.map((entry) => entry.name))} is partial (it ran outside a transaction and stopped after ${first.statementsDone} committed statements, last: ${first.lastStatement ?? 'none'}): complete or undo it by hand, then run preflight repair ${first.name} --applied or --rolled-back`,
      {
        details: plan.partial.map(
          (entry) => `${entry.name}: ${entry.statementsDone} statements, last: ${entry.lastStatement}`,
        ),
      },
    );
  }
  if (plan.drifted.length > 0) {
    const names = plan.drifted.map((drift) => drift.name);
    // Without its source only the compiled file is checksummed: a compiler change then looks like an edit.
    const compiledOnly = plan.drifted.filter((drift) => drift.checksumFrom === 'compiled').map((drift) => drift.name);
    const accept =
      compiledOnly.length === 0
        ? ''
        : `; if only the compiled output changed (a new compiler or tsconfig target), accept it with preflight repair --accept-checksum ${compiledOnly.length === 1 ? compiledOnly[0] : '--all'}`;
    return new PreflightError(
      'data',
      `migration ${listed(names)} changed after it was applied (checksum differs): restore its original source and put the change in a new migration${accept}`,
      {
        details: plan.drifted.map(
          (drift) => `${drift.name}: recorded ${drift.recorded.slice(0, 12)}, build ${drift.current.slice(0, 12)}`,
        ),
      },
    );
  }
  if (plan.unknown.length > 0 && !policy.allowUnknown) {
    const names = plan.unknown.map((migration) => migration.name);
    return new PreflightError(
      'data',
      `the database has applied ${listed(names)}, which this build does not know (is this an older image?): deploy the newer build, or set PREFLIGHT_ALLOW_UNKNOWN=true to proceed`,
      { details: names },
    );
  }
  if (plan.outOfOrder.length > 0 && !policy.allowOutOfOrder) {
    const names = plan.outOfOrder.map((source) => source.name);
    const newest = plan.applied.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
    return new PreflightError(
      'data',
      `pending migration ${listed(names)} is older than the newest applied one (${newest.name}): give it a newer timestamp, or set PREFLIGHT_ALLOW_OUT_OF_ORDER=true to apply it anyway`,
      { details: names },
    );
  }
  return undefined;
}
