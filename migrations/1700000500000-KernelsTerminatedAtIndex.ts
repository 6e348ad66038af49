import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dropInvalidIndex } from '../src/postgres/invalid-index';

/**
 * The index clear-history scans by. Built CONCURRENTLY (outside a transaction) so kernels stays
 * writable on a live platform; an INVALID index left by an interrupted earlier attempt is dropped
 * and built again.
 */
export class KernelsTerminatedAtIndex1700000500000 implements MigrationInterface {
  name = 'KernelsTerminatedAtIndex1700000500000';
  transaction = false as const;

  async up(queryRunner: QueryRunner): Promise<void> {
    await dropInvalidIndex(queryRunner, 'ix_kernels_terminated_at');
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_kernels_terminated_at ON kernels (terminated_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ix_kernels_terminated_at`);
  }
}
