import { createHash } from 'node:crypto';
import type { Client, QueryConfig } from 'pg';
import { quoteIdentifier, sqlState } from './connection';

/** A row of TypeORM's migrations table. */
export interface AppliedMigration {
  timestamp: number;
  name: string;
}

export interface MigrationsTable {
  schema: string;
  table: string;
}

export function qualifiedName({ schema, table }: MigrationsTable): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** What the database records as applied, oldest first; empty when the table does not exist yet. */
export async function readApplied(client: Client, location: MigrationsTable): Promise<AppliedMigration[]> {
  const rows = await rowsUnlessMissing<{ timestamp: string; name: string }>(
    client,
    `SELECT "timestamp", "name" FROM ${qualifiedName(location)} ORDER BY "id"`,
  );
  return rows.map((row) => ({ timestamp: Number(row.timestamp), name: row.name }));
}

/**
 * The rows of `sql`, or none when its table (or schema) does not exist yet: one round trip where
 * asking first would take two. Outside a transaction only, which the error would abort.
 */
export async function rowsUnlessMissing<T extends object>(client: Client, query: string | QueryConfig): Promise<T[]> {
  try {
    return (await client.query<T>(query)).rows;
  } catch (error) {
    if (sqlState(error) === undefinedTable) return [];
    throw error;
  }
}

const undefinedTable = '42P01';

/**
 * Creates the migrations table exactly as TypeORM's MigrationExecutor does (same columns and
 * primary-key name), so `typeorm migration:show` and preflight read the same state.
 */
export async function ensureMigrationsTable(client: Client, location: MigrationsTable): Promise<void> {
  const tableName = location.schema === 'public' ? location.table : `${location.schema}_${location.table}`;
  const primaryKey = `PK_${createHash('sha1').update(`${tableName}_id`).digest('hex').slice(0, 27)}`;
  const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [location.schema]);
  // CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a migration role may lack.
  if (schema.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(location.schema)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(location)} (
       "id" SERIAL NOT NULL,
       "timestamp" bigint NOT NULL,
       "name" character varying NOT NULL,
       CONSTRAINT ${quoteIdentifier(primaryKey)} PRIMARY KEY ("id"))`,
  );
}
