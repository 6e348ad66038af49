import type { QueryRunner } from 'typeorm';
import type { Logger } from '../log/logger';

/**
 * For non-transactional migrations that build an index CONCURRENTLY: an earlier attempt that was
 * interrupted leaves an INVALID index of the same name, which `CREATE INDEX CONCURRENTLY IF NOT
 * EXISTS` would silently keep. Drops it (concurrently) so the migration can build it again.
 * Returns true when an invalid index was dropped.
 */
export async function dropInvalidIndex(
  queryRunner: QueryRunner,
  indexName: string,
  schema = 'public',
): Promise<boolean> {
  const rows = (await queryRunner.query(
    `SELECT NOT i.indisvalid AS invalid FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND n.nspname = $2`,
    [indexName, schema],
  )) as Array<{ invalid: boolean }>;
  if (!rows[0]?.invalid) return false;
  await queryRunner.query(
    `DROP INDEX CONCURRENTLY IF EXISTS "${schema.replace(/"/g, '""')}"."${indexName.replace(/"/g, '""')}"`,
  );
  return true;
}

/** An INVALID index is what an interrupted CREATE INDEX CONCURRENTLY leaves behind; say so before the next attempt. */
export async function reportInvalidIndexes(runner: QueryRunner, name: string, log: Logger): Promise<void> {
  const rows = (await runner.query(
    `SELECT format('%I.%I', n.nspname, c.relname) AS index FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid`,
  )) as Array<{ index: string }>;
  if (rows.length > 0) {
    log.warn({
      event: 'migration.invalid_indexes',
      name,
      indexes: rows.map((row) => row.index),
      message:
        'INVALID indexes found (an earlier CREATE INDEX CONCURRENTLY failed); the migration should drop and rebuild them (see dropInvalidIndex)',
    });
  }
}
