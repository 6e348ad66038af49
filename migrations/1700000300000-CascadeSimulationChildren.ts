import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Deleting a simulation deletes its subtype rows, tasks, inputs, estimators, pages and logs. */
const children: Array<[table: string, column: string, parent: string]> = [
  ['celery_simulations', 'id', 'simulations'],
  ['batch_simulations', 'id', 'simulations'],
  ['tasks', 'simulation_id', 'simulations'],
  ['celery_tasks', 'id', 'tasks'],
  ['batch_tasks', 'id', 'tasks'],
  ['inputs', 'simulation_id', 'simulations'],
  ['logfiles', 'simulation_id', 'simulations'],
  ['estimators', 'simulation_id', 'simulations'],
  ['pages', 'estimator_id', 'estimators'],
];

export class CascadeSimulationChildren1700000300000 implements MigrationInterface {
  name = 'CascadeSimulationChildren1700000300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await recreate(queryRunner, 'ON DELETE CASCADE');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await recreate(queryRunner, '');
  }
}

/** Drops and re-adds each foreign key in one statement per table, so the table is locked once. */
async function recreate(queryRunner: QueryRunner, onDelete: string): Promise<void> {
  for (const [table, column, parent] of children) {
    const constraint = `fk_${table}_${column}`;
    await queryRunner.query(
      `ALTER TABLE ${table} DROP CONSTRAINT ${constraint}, ADD CONSTRAINT ${constraint} FOREIGN KEY (${column}) REFERENCES ${parent} (id) ${onDelete}`.trim(),
    );
  }
}
