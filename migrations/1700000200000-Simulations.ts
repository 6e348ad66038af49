import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Simulation jobs and their tasks, with joined-table subtypes for the two platforms they run on
 * (Celery workers for `direct`, a cluster's batch scheduler for `batch`), and their inputs,
 * estimators, result pages and log files. Foreign keys are created without ON DELETE here, as the
 * platform first shipped them; CascadeSimulationChildren fixes that.
 */
export class Simulations1700000200000 implements MigrationInterface {
  name = 'Simulations1700000200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE simulations (
        id              bigserial PRIMARY KEY,
        job_id          varchar(64)  NOT NULL,
        user_id         bigint       NOT NULL,
        platform        varchar(8)   NOT NULL CHECK (platform IN ('direct', 'batch')),
        title           varchar(256) NOT NULL DEFAULT 'workspace',
        input_type      varchar(16)  NOT NULL CHECK (input_type IN ('editor', 'files')),
        sim_type        varchar(16)  NOT NULL CHECK (sim_type IN ('shieldhit', 'topas', 'fluka')),
        job_state       varchar(16)  NOT NULL DEFAULT 'UNKNOWN',
        start_time      timestamptz  NOT NULL DEFAULT now(),
        end_time        timestamptz,
        update_key_hash text,
        CONSTRAINT uq_simulations_job_id UNIQUE (job_id),
        CONSTRAINT fk_simulations_user_id FOREIGN KEY (user_id) REFERENCES users (id)
      )`);
    await queryRunner.query(`
      CREATE TABLE celery_simulations (
        id       bigint PRIMARY KEY CONSTRAINT fk_celery_simulations_id REFERENCES simulations (id),
        merge_id varchar(64)
      )`);
    await queryRunner.query(`
      CREATE TABLE batch_simulations (
        id         bigint PRIMARY KEY CONSTRAINT fk_batch_simulations_id REFERENCES simulations (id),
        cluster_id bigint NOT NULL CONSTRAINT fk_batch_simulations_cluster_id REFERENCES clusters (id),
        job_dir    text,
        array_id   integer,
        collect_id integer
      )`);
    await queryRunner.query(`
      CREATE TABLE tasks (
        id                  bigserial PRIMARY KEY,
        simulation_id       bigint  NOT NULL CONSTRAINT fk_tasks_simulation_id REFERENCES simulations (id),
        task_id             integer NOT NULL,
        requested_primaries integer NOT NULL DEFAULT 0,
        simulated_primaries integer NOT NULL DEFAULT 0,
        task_state          varchar(16) NOT NULL DEFAULT 'PENDING',
        estimated_time      integer,
        start_time          timestamptz,
        end_time            timestamptz,
        platform            varchar(8) NOT NULL CHECK (platform IN ('direct', 'batch')),
        CONSTRAINT uq_tasks_simulation_task UNIQUE (simulation_id, task_id)
      )`);
    await queryRunner.query(
      `CREATE TABLE celery_tasks (id bigint PRIMARY KEY CONSTRAINT fk_celery_tasks_id REFERENCES tasks (id), celery_id varchar(64))`,
    );
    await queryRunner.query(
      `CREATE TABLE batch_tasks (id bigint PRIMARY KEY CONSTRAINT fk_batch_tasks_id REFERENCES tasks (id))`,
    );
    for (const table of ['inputs', 'logfiles']) {
      await queryRunner.query(`
        CREATE TABLE ${table} (
          id              bigserial PRIMARY KEY,
          simulation_id   bigint NOT NULL CONSTRAINT fk_${table}_simulation_id REFERENCES simulations (id),
          compressed_data bytea  NOT NULL
        )`);
    }
    await queryRunner.query(`
      CREATE TABLE estimators (
        id              bigserial PRIMARY KEY,
        simulation_id   bigint       NOT NULL CONSTRAINT fk_estimators_simulation_id REFERENCES simulations (id),
        name            varchar(256) NOT NULL,
        compressed_data bytea        NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE pages (
        id              bigserial PRIMARY KEY,
        estimator_id    bigint  NOT NULL CONSTRAINT fk_pages_estimator_id REFERENCES estimators (id),
        page_number     integer NOT NULL,
        compressed_data bytea   NOT NULL,
        CONSTRAINT uq_pages_estimator_page UNIQUE (estimator_id, page_number)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'pages',
      'estimators',
      'logfiles',
      'inputs',
      'batch_tasks',
      'celery_tasks',
      'tasks',
      'batch_simulations',
      'celery_simulations',
      'simulations',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
