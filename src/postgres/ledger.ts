import type { Client } from 'pg';
import { quoteIdentifier } from './connection';
import { qualifiedName, type MigrationsTable } from './migrations-table';

/** What preflight records beside TypeORM's row: the checksum it applied, when, how long, by whom. */
export interface LedgerRow {
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number | null;
  appliedBy: string;
  preflightVersion: string;
  /** true when the row was recorded on adopting a migration applied by something else (TypeORM's CLI) */
  adopted: boolean;
}

/** The side table: `preflight_<migrations table>` in the same schema. */
export function ledgerName({ schema, table }: MigrationsTable): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(`preflight_${table}`)}`;
}

export async function ensureLedger(client: Client, location: MigrationsTable): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${ledgerName(location)} (
       name              varchar PRIMARY KEY,
       checksum          char(64) NOT NULL,
       applied_at        timestamptz NOT NULL DEFAULT now(),
       duration_ms       integer,
       applied_by        text NOT NULL,
       preflight_version text NOT NULL,
       adopted           boolean NOT NULL DEFAULT false)`,
  );
}

/** The ledger by migration name; empty when the table does not exist yet. */
export async function readLedger(client: Client, location: MigrationsTable): Promise<Map<string, LedgerRow>> {
  const exists = await client.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
    ledgerName(location),
  ]);
  if (exists.rows[0].found === null) return new Map();
  const result = await client.query<{
    name: string;
    checksum: string;
    applied_at: Date;
    duration_ms: number | null;
    applied_by: string;
    preflight_version: string;
    adopted: boolean;
  }>(
    `SELECT name, checksum, applied_at, duration_ms, applied_by, preflight_version, adopted FROM ${ledgerName(location)}`,
  );
  return new Map(
    result.rows.map((row) => [
      row.name,
      {
        name: row.name,
        checksum: row.checksum,
        appliedAt: row.applied_at.toISOString(),
        durationMs: row.duration_ms,
        appliedBy: row.applied_by,
        preflightVersion: row.preflight_version,
        adopted: row.adopted,
      },
    ]),
  );
}

/** The statement and parameters that record one migration; run inside the migration's own transaction. */
export function ledgerInsert(
  location: MigrationsTable,
  row: {
    name: string;
    checksum: string;
    durationMs: number | null;
    appliedBy: string;
    preflightVersion: string;
    adopted: boolean;
  },
): [string, unknown[]] {
  return [
    `INSERT INTO ${ledgerName(location)} (name, checksum, duration_ms, applied_by, preflight_version, adopted)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now(), duration_ms = EXCLUDED.duration_ms,
       applied_by = EXCLUDED.applied_by, preflight_version = EXCLUDED.preflight_version, adopted = EXCLUDED.adopted`,
    [row.name, row.checksum, row.durationMs, row.appliedBy, row.preflightVersion, row.adopted],
  ];
}

export function ledgerDelete(location: MigrationsTable, name: string): [string, unknown[]] {
  return [`DELETE FROM ${ledgerName(location)} WHERE name = $1`, [name]];
}

/**
 * TypeORM's row and the ledger's in one statement (one round trip per migration), run inside the
 * migration's own transaction.
 */
export function recordApplied(
  location: MigrationsTable,
  row: {
    name: string;
    timestamp: number;
    checksum: string;
    durationMs: number | null;
    appliedBy: string;
    preflightVersion: string;
  },
): [string, unknown[]] {
  const [ledgerSql, ledgerParameters] = ledgerInsert(location, { ...row, adopted: false });
  const shifted = ledgerSql.replace(/\$(\d)/g, (_, digit: string) => `$${Number(digit) + 1}`);
  return [
    `WITH recorded AS (INSERT INTO ${qualifiedName(location)} ("timestamp", "name") VALUES ($1, $2)) ${shifted}`,
    [row.timestamp, ...ledgerParameters],
  ];
}
