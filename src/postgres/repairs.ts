import type { Client } from 'pg';
import { ledgerName, repairsName } from './ledger';
import { qualifiedName, type MigrationsTable } from './migrations-table';

/** Who repaired what and when: one row per `preflight repair` action, beside the ledger. */
export interface RepairRecord {
  name: string;
  action: 'applied' | 'rolled-back' | 'accept-checksum';
  oldChecksum: string | null;
  newChecksum: string | null;
  repairedBy: string;
  preflightVersion: string;
  detail: string | null;
}

export async function ensureRepairs(client: Client, location: MigrationsTable): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${repairsName(location)} (
       id                serial PRIMARY KEY,
       name              varchar NOT NULL,
       action            text NOT NULL,
       old_checksum      char(64),
       new_checksum      char(64),
       repaired_by       text NOT NULL,
       repaired_at       timestamptz NOT NULL DEFAULT now(),
       preflight_version text NOT NULL,
       detail            text)`,
  );
}

async function recordRepair(client: Client, location: MigrationsTable, record: RepairRecord): Promise<void> {
  await client.query(
    `INSERT INTO ${repairsName(location)} (name, action, old_checksum, new_checksum, repaired_by, preflight_version, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      record.name,
      record.action,
      record.oldChecksum,
      record.newChecksum,
      record.repairedBy,
      record.preflightVersion,
      record.detail,
    ],
  );
}

/** In one transaction: `work`, then the repair records. */
export async function repairTransaction(
  client: Client,
  location: MigrationsTable,
  records: RepairRecord[],
  work: () => Promise<void>,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    for (const record of records) await recordRepair(client, location, record);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** A partial migration was completed by hand: record it as applied (TypeORM's row and the ledger's). */
export async function markApplied(
  client: Client,
  location: MigrationsTable,
  migration: { name: string; timestamp: number; checksum: string },
): Promise<void> {
  await client.query(`INSERT INTO ${qualifiedName(location)} ("timestamp", "name") VALUES ($1, $2)`, [
    migration.timestamp,
    migration.name,
  ]);
  await client.query(
    `UPDATE ${ledgerName(location)} SET state = 'applied', checksum = $2, applied_at = now() WHERE name = $1`,
    [migration.name, migration.checksum],
  );
}

/** A partial migration was undone by hand: forget it, so the next run applies it from its first statement. */
export async function forget(client: Client, location: MigrationsTable, name: string): Promise<void> {
  await client.query(`DELETE FROM ${ledgerName(location)} WHERE name = $1`, [name]);
}

export async function acceptChecksum(
  client: Client,
  location: MigrationsTable,
  name: string,
  checksum: string,
): Promise<void> {
  await client.query(`UPDATE ${ledgerName(location)} SET checksum = $2 WHERE name = $1`, [name, checksum]);
}
