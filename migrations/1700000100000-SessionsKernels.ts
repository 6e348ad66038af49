import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Compute sessions and the kernels (containers) they run, keyed by the owner's access key. */
export class SessionsKernels1700000100000 implements MigrationInterface {
  name = 'SessionsKernels1700000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sessions (
        id            uuid PRIMARY KEY,
        name          varchar(64) NOT NULL,
        access_key    varchar(20) NOT NULL REFERENCES keypairs (access_key),
        status        varchar(32) NOT NULL DEFAULT 'PENDING',
        created_at    timestamptz NOT NULL DEFAULT now(),
        terminated_at timestamptz
      )`);
    await queryRunner.query(`
      CREATE TABLE kernels (
        id             uuid PRIMARY KEY,
        session_id     uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        access_key     varchar(20) NOT NULL,
        agent          varchar(64),
        status         varchar(32) NOT NULL DEFAULT 'PENDING',
        occupied_slots jsonb       NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now(),
        terminated_at  timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX ix_kernels_session_id ON kernels (session_id)`);
    await queryRunner.query(`CREATE INDEX ix_kernels_access_key ON kernels (access_key)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE kernels`);
    await queryRunner.query(`DROP TABLE sessions`);
  }
}
