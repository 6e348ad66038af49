import { basename } from 'node:path';
import type { Client } from 'pg';
import { sqlState } from './connection';
import { ledgerName } from './ledger';
import type { MigrationsTable } from './migrations-table';
import type { MigrationSource } from './migration-source';

/**
 * What the ledger remembers of the compiled file a migration came from: its name, its checksum and
 * how many migrations it exports. A file whose content hashes the same as when it was recorded
 * exports the same classes, so the no-op plans from file hashes alone and loads no module (issue 15).
 * Only a cache: any mismatch (another hash, a migration of the file missing from the ledger) loads
 * and checksums the file as before.
 */
export interface KnownFile {
  compiledChecksum: string;
  /** how many migrations the file exported when it was recorded */
  migrations: number;
  entries: Array<{ name: string; checksum: string }>;
}

const undefinedTable = '42P01';
const undefinedColumn = '42703';

/** Reads the remembered files by base name, in one query; none when there is no ledger yet or it predates the columns. */
export async function readKnownFiles(client: Client, location: MigrationsTable): Promise<Map<string, KnownFile>> {
  let rows: Array<{ name: string; checksum: string; file: string; compiled_checksum: string; file_migrations: number }>;
  try {
    rows = (
      await client.query<(typeof rows)[number]>(
        `SELECT name, checksum, file, compiled_checksum, file_migrations FROM ${ledgerName(location)} WHERE file IS NOT NULL`,
      )
    ).rows;
  } catch (error) {
    const state = sqlState(error);
    if (state === undefinedTable || state === undefinedColumn) return new Map();
    throw error;
  }
  const files = new Map<string, KnownFile>();
  for (const row of rows) {
    const known = files.get(row.file);
    const entry = { name: row.name, checksum: row.checksum.trim() };
    if (known?.compiledChecksum === row.compiled_checksum) known.entries.push(entry);
    else if (!known) {
      files.set(row.file, {
        compiledChecksum: row.compiled_checksum,
        migrations: row.file_migrations,
        entries: [entry],
      });
    } else known.migrations = -1; // one file recorded with two contents: never trusted
  }
  return files;
}

/**
 * Remembers the files of `sources` that were loaded and checksummed this run, for the rows the
 * ledger records with that same checksum (a drifted migration is never remembered, so its drift is
 * seen again next run). Adds the columns to a ledger written by an older preflight. A cache write
 * that the server refuses (no ledger, not its owner) only costs the next run its speed: it is
 * returned as the reason, not thrown.
 */
export async function rememberFiles(
  client: Client,
  location: MigrationsTable,
  sources: readonly MigrationSource[],
): Promise<string | undefined> {
  const scanned = sources.filter((source) => source.scanned);
  if (scanned.length === 0) return undefined;
  const ledger = ledgerName(location);
  const perFile = new Map<string, number>();
  for (const source of sources) perFile.set(source.file, (perFile.get(source.file) ?? 0) + 1);
  const update = () =>
    client.query(
      `UPDATE ${ledger} AS l SET file = v.file, compiled_checksum = v.compiled, file_migrations = v.migrations
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[]) AS v(name, file, compiled, checksum, migrations)
        WHERE l.name = v.name AND l.checksum IN (v.checksum, v.compiled)
          AND (l.file, l.compiled_checksum, l.file_migrations) IS DISTINCT FROM (v.file, v.compiled, v.migrations)`,
      [
        scanned.map((source) => source.name),
        scanned.map((source) => basename(source.file)),
        scanned.map((source) => source.compiledChecksum),
        scanned.map((source) => source.checksum),
        scanned.map((source) => perFile.get(source.file) ?? 1),
      ],
    );
  try {
    try {
      await update();
    } catch (error) {
      if (sqlState(error) !== undefinedColumn) throw error;
      await client.query(
        `ALTER TABLE ${ledger} ADD COLUMN IF NOT EXISTS file text, ADD COLUMN IF NOT EXISTS compiled_checksum text,
           ADD COLUMN IF NOT EXISTS file_migrations integer`,
      );
      await update();
    }
  } catch (error) {
    if (sqlState(error) === undefined) throw error;
    return (error as Error).message;
  }
  return undefined;
}
