import type { Client } from 'pg';
import { quoteIdentifier } from './connection';
import { ledgerName } from './ledger';
import { qualifiedName, type MigrationsTable } from './migrations-table';

/** A privilege the role lacks for the job's writes, and the statement that grants it. */
export interface MissingPrivilege {
  role: string;
  /** e.g. `CREATE on schema public` */
  privilege: string;
  /** e.g. `GRANT CREATE ON SCHEMA "public" TO "app"` (run by the owner or a superuser) */
  grant: string;
}

/**
 * Checks, before any write, that the role can do what the job does in `location.schema`: create
 * there (the schema itself too when it is missing), or at least write the bookkeeping tables when
 * they exist already (a role that only records migrations someone else applies). PostgreSQL 15+
 * no longer lets every role create in `public`: the most common first-deploy mistake.
 */
export async function missingPrivilege(
  client: Client,
  location: MigrationsTable,
): Promise<MissingPrivilege | undefined> {
  const { rows } = await client.query<{
    role: string;
    database: string;
    schema_exists: boolean;
    database_create: boolean;
    schema_usage: boolean;
    schema_create: boolean;
  }>(
    `SELECT current_user AS role, current_database() AS database, n.oid IS NOT NULL AS schema_exists,
            has_database_privilege(current_database(), 'CREATE') AS database_create,
            n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
            n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'CREATE') AS schema_create
       FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [location.schema],
  );
  const row = rows[0];
  const role = quoteIdentifier(row.role);
  const schema = quoteIdentifier(location.schema);
  if (!row.schema_exists) {
    if (row.database_create) return undefined;
    return {
      role: row.role,
      privilege: `CREATE on database ${row.database} (schema ${location.schema} does not exist yet)`,
      grant: `CREATE SCHEMA ${schema} AUTHORIZATION ${role}; or GRANT CREATE ON DATABASE ${quoteIdentifier(row.database)} TO ${role}`,
    };
  }
  if (!row.schema_usage) {
    return {
      role: row.role,
      privilege: `USAGE on schema ${location.schema}`,
      grant: `GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${role}`,
    };
  }
  if (row.schema_create) return undefined;
  const tables = [qualifiedName(location), ledgerName(location)];
  const writable = await client.query<{ ok: boolean }>(
    `SELECT bool_and(to_regclass(name) IS NOT NULL AND has_table_privilege(name, 'SELECT,INSERT,UPDATE,DELETE')) AS ok
       FROM unnest($1::text[]) AS name`,
    [tables],
  );
  if (writable.rows[0].ok) return undefined;
  return {
    role: row.role,
    privilege: `CREATE on schema ${location.schema}`,
    grant: `GRANT CREATE ON SCHEMA ${schema} TO ${role}`,
  };
}
