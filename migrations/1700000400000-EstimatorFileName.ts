import type { MigrationInterface, QueryRunner } from 'typeorm';
import { migrationContext } from '../src/postgres/migration-context';

const batchRows = 5000;

/**
 * Data backfill: estimators get `file_name` (the name as uploaded, e.g. `Dose.bdo`), filled from
 * `name` in bounded batches so no single statement rewrites the whole table, then `name` is
 * normalised to the bare estimator name (`dose`).
 */
export class EstimatorFileName1700000400000 implements MigrationInterface {
  name = 'EstimatorFileName1700000400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { log } = migrationContext(queryRunner);
    await queryRunner.query(`ALTER TABLE estimators ADD COLUMN file_name varchar(256)`);
    for (let filled = 0; ;) {
      const [, count] = (await queryRunner.query(
        `UPDATE estimators SET file_name = name, name = lower(regexp_replace(trim(name), '\\.[A-Za-z0-9]+$', ''))
          WHERE id IN (SELECT id FROM estimators WHERE file_name IS NULL ORDER BY id LIMIT ${batchRows})`,
      )) as [unknown, number];
      if (count === 0) break;
      filled += count;
      log.info({ event: 'migration.progress', name: this.name, rows: filled });
    }
    await queryRunner.query(`ALTER TABLE estimators ALTER COLUMN file_name SET NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE estimators SET name = file_name`);
    await queryRunner.query(`ALTER TABLE estimators DROP COLUMN file_name`);
  }
}
