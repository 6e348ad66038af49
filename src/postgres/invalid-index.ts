import type { QueryRunner } from 'typeorm';

/**
 * For non-transactional migrations that build an index CONCURRENTLY: an earlier attempt that was
 * interrupted leaves an INVALID index of the same name, which `CREATE INDEX CONCURRENTLY IF NOT
 * EXISTS` would silently keep. Drops it (concurrently) so the migration can build it again.
 * Returns true when an invalid index was dropped.
 */
export async function dropInvalidIndex(queryRunner: QueryRunner, indexName: string, schema = 'public'): Promise<boolean> {
  const rows = (await queryRunner.query(
    `SELECT NOT i.indisvalid AS invalid FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND n.nspname = $2`,
    [indexName, schema],
  )) as Array<{ invalid: boolean }>;
  if (!rows[0]?.invalid) return false;
  await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${schema.replace(/"/g, '""')}"."${indexName.replace(/"/g, '""')}"`);
  return true;
}
