import { types, type Client } from 'pg';
import { PreflightError } from '../core/errors';
import { quoteIdentifier } from './connection';
import { qualifiedName, rowsUnlessMissing, type MigrationsTable } from './migrations-table';
import { sqlLiteral } from './sql-literal';

/**
 * What preflight records beside TypeORM's row: the checksum it applied, when, how long, by whom, and
 * for a `transaction = false` migration its progress (`started` before its first statement,
 * `partial` when it failed after some statements committed).
 */
export interface LedgerRow {
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number | null;
  appliedBy: string;
  preflightVersion: string;
  /** true when the row was recorded on adopting a migration applied by something else (TypeORM's CLI) */
  adopted: boolean;
  state: LedgerState;
  /** statements that changed something and committed, for a migration run outside a transaction */
  statementsDone: number;
  /** the last of them (its first 200 characters) */
  lastStatement: string | null;
}

export type LedgerState = 'started' | 'applied' | 'partial';

/** The side table: `preflight_<migrations table>` in the same schema. */
export function ledgerName({ schema, table }: MigrationsTable): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(`preflight_${table}`)}`;
}

/** What `preflight repair` did, one row per action: `preflight_<migrations table>_repairs`. */
export function repairsName({ schema, table }: MigrationsTable): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(`preflight_${table}_repairs`)}`;
}

/**
 * Creates the ledger, or upgrades one written by an older preflight: the state columns, and a unique
 * name (refused with 65 if the table already holds a name twice).
 */
export async function ensureLedger(client: Client, location: MigrationsTable): Promise<void> {
  const table = ledgerName(location);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${table} (
       name              varchar PRIMARY KEY,
       checksum          char(64) NOT NULL,
       applied_at        timestamptz NOT NULL DEFAULT now(),
       duration_ms       integer,
       applied_by        text NOT NULL,
       preflight_version text NOT NULL,
       adopted           boolean NOT NULL DEFAULT false,
       state             text NOT NULL DEFAULT 'applied' CHECK (state IN ('started', 'applied', 'partial')),
       statements_done   integer NOT NULL DEFAULT 0,
       last_statement    text)`,
  );
  const shape = await client.query<{ has_state: boolean; unique_name: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'state' AND NOT attisdropped) AS has_state,
            EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                     WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1 AND a.attname = 'name') AS unique_name`,
    [table],
  );
  const { has_state: hasState, unique_name: uniqueName } = shape.rows[0];
  if (!uniqueName) {
    const twice = await client.query<{ name: string }>(`SELECT name FROM ${table} GROUP BY name HAVING count(*) > 1`);
    if (twice.rowCount !== 0) {
      const names = twice.rows.map((row) => row.name);
      throw new PreflightError(
        'data',
        `the ledger ${table} records ${names.join(', ')} more than once: the migration was applied twice; check its effects, delete the extra rows (and TypeORM's), then re-run`,
        { details: names },
      );
    }
    await client.query(`ALTER TABLE ${table} ADD UNIQUE (name)`);
  }
  if (!hasState) {
    await client.query(
      `ALTER TABLE ${table}
         ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'applied' CHECK (state IN ('started', 'applied', 'partial')),
         ADD COLUMN IF NOT EXISTS statements_done integer NOT NULL DEFAULT 0,
         ADD COLUMN IF NOT EXISTS last_statement text`,
    );
  }
}

const timestamptz = 1184;

/** The ledger by migration name; empty when the table does not exist yet. Reads ledgers of older versions too. */
export async function readLedger(client: Client, location: MigrationsTable): Promise<Map<string, LedgerRow>> {
  // applied_at as ISO text from the server: parsing hundreds of timestamps into Dates cost the no-op milliseconds.
  const rows = await rowsUnlessMissing<{
    name: string;
    checksum: string;
    applied_at_iso: string;
    duration_ms: number | null;
    applied_by: string;
    preflight_version: string;
    adopted: boolean;
    state?: LedgerState;
    statements_done?: number;
    last_statement?: string | null;
  }>(client, {
    text: `SELECT *, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS applied_at_iso FROM ${ledgerName(location)}`,
    types: { getTypeParser: (oid: number) => (oid === timestamptz ? String : types.getTypeParser(oid)) },
  });
  return new Map(
    rows.map((row) => [
      row.name,
      {
        name: row.name,
        checksum: row.checksum,
        appliedAt: row.applied_at_iso,
        durationMs: row.duration_ms,
        appliedBy: row.applied_by,
        preflightVersion: row.preflight_version,
        adopted: row.adopted,
        state: row.state ?? 'applied',
        statementsDone: row.statements_done ?? 0,
        lastStatement: row.last_statement ?? null,
      },
    ]),
  );
}

interface RecordedRow {
  name: string;
  checksum: string;
  durationMs: number | null;
  appliedBy: string;
  preflightVersion: string;
}

const columns = '(name, checksum, duration_ms, applied_by, preflight_version, adopted, state)';

/** Records a migration applied by something else (adoption): an applied row, or nothing when one exists. */
export function ledgerInsert(location: MigrationsTable, row: RecordedRow & { adopted: boolean }): [string, unknown[]] {
  return [
    `INSERT INTO ${ledgerName(location)} ${columns} VALUES ($1, $2, $3, $4, $5, $6, 'applied')
     ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now(), duration_ms = EXCLUDED.duration_ms,
       applied_by = EXCLUDED.applied_by, preflight_version = EXCLUDED.preflight_version, adopted = EXCLUDED.adopted, state = 'applied'`,
    [row.name, row.checksum, row.durationMs, row.appliedBy, row.preflightVersion, row.adopted],
  ];
}

export function ledgerDelete(location: MigrationsTable, name: string): [string, unknown[]] {
  return [`DELETE FROM ${ledgerName(location)} WHERE name = $1`, [name]];
}

/**
 * TypeORM's row and the ledger's in one statement, run inside the migration's own transaction and
 * sent in one round trip with its COMMIT (so its values are literals, see sqlLiteral). The ledger row
 * is a plain INSERT: if another session recorded the migration first, the unique name fails this
 * transaction rather than record it twice. For a migration that ran outside a transaction, its
 * `started` row becomes `applied`.
 */
export function recordApplied(
  location: MigrationsTable,
  row: RecordedRow & { timestamp: number },
  startedRow: boolean,
): string {
  const [timestamp, name, checksum, durationMs, appliedBy, version] = [
    row.timestamp,
    row.name,
    row.checksum,
    row.durationMs,
    row.appliedBy,
    row.preflightVersion,
  ].map(sqlLiteral);
  const typeorm = `WITH recorded AS (INSERT INTO ${qualifiedName(location)} ("timestamp", "name") VALUES (${timestamp}, ${name}))`;
  if (startedRow) {
    return `${typeorm} UPDATE ${ledgerName(location)} SET state = 'applied', checksum = ${checksum}, applied_at = now(),
       duration_ms = ${durationMs}, applied_by = ${appliedBy}, preflight_version = ${version} WHERE name = ${name} AND state = 'started'`;
  }
  return `${typeorm} INSERT INTO ${ledgerName(location)} ${columns} VALUES (${name}, ${checksum}, ${durationMs}, ${appliedBy}, ${version}, false, 'applied')`;
}

/** A reverted migration: TypeORM's row and the ledger's deleted in one statement (literals, as recordApplied). */
export function recordReverted(location: MigrationsTable, row: { name: string; timestamp: number }): string {
  const name = sqlLiteral(row.name);
  return `WITH gone AS (DELETE FROM ${qualifiedName(location)} WHERE "timestamp" = ${sqlLiteral(row.timestamp)} AND "name" = ${name})
     DELETE FROM ${ledgerName(location)} WHERE name = ${name}`;
}

/** The `started` row a `transaction = false` migration commits before its first statement. */
export function recordStarted(location: MigrationsTable, row: RecordedRow): [string, unknown[]] {
  return [
    `INSERT INTO ${ledgerName(location)} ${columns} VALUES ($1, $2, NULL, $3, $4, false, 'started')
     ON CONFLICT (name) DO UPDATE SET applied_at = now(), applied_by = EXCLUDED.applied_by,
       preflight_version = EXCLUDED.preflight_version, statements_done = 0, last_statement = NULL
     WHERE ${ledgerName(location)}.state = 'started' AND ${ledgerName(location)}.statements_done = 0`,
    [row.name, row.checksum, row.appliedBy, row.preflightVersion],
  ];
}

/** One more statement of a `transaction = false` migration committed. */
export function recordProgress(
  location: MigrationsTable,
  name: string,
  done: number,
  lastStatement: string,
): [string, unknown[]] {
  return [
    `UPDATE ${ledgerName(location)} SET statements_done = $2, last_statement = $3 WHERE name = $1`,
    [name, done, lastStatement.slice(0, 200)],
  ];
}

export function recordPartial(location: MigrationsTable, name: string): [string, unknown[]] {
  return [`UPDATE ${ledgerName(location)} SET state = 'partial' WHERE name = $1`, [name]];
}

/**
 * The fence, under the job lock inside a migration's transaction: the job key taken at transaction
 * level, then (a statement of its own, so its snapshot is taken once the key is held) whether `name`
 * is recorded. Literal SQL, sent in one round trip with the BEGIN that opens the transaction.
 */
export function fenceStatements(location: MigrationsTable, keys: [number, number], name: string): [string, string] {
  const literal = sqlLiteral(name);
  return [
    `SELECT pg_advisory_xact_lock(${sqlLiteral(keys[0])}, ${sqlLiteral(keys[1])})::text AS locked`,
    `SELECT EXISTS (SELECT 1 FROM ${qualifiedName(location)} WHERE "name" = ${literal}) AS recorded,
            (SELECT state FROM ${ledgerName(location)} WHERE name = ${literal}) AS ledger_state`,
  ];
}
