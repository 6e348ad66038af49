import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The platform's identity schema: users (with joined-table subtypes per auth provider), API
 * keypairs and their resource policies, and the compute clusters jobs run on.
 */
export class InitialIdentity1700000000000 implements MigrationInterface {
  name = 'InitialIdentity1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id            bigserial PRIMARY KEY,
        username      varchar(64)  NOT NULL,
        email         varchar(254) NOT NULL,
        auth_provider varchar(16)  NOT NULL CHECK (auth_provider IN ('local', 'keycloak')),
        role          varchar(16)  NOT NULL DEFAULT 'user' CHECK (role IN ('superadmin', 'admin', 'user', 'monitor')),
        status        varchar(16)  NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deleted', 'before-verification')),
        created_at    timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT uq_users_username_provider UNIQUE (username, auth_provider)
      )`);
    await queryRunner.query(`
      CREATE TABLE users_local (
        user_id       bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        password_hash text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE users_keycloak (
        user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        cert        text,
        private_key text
      )`);
    await queryRunner.query(`
      CREATE TABLE keypair_resource_policies (
        name                      varchar(256) PRIMARY KEY,
        total_resource_slots      jsonb   NOT NULL DEFAULT '{}',
        max_concurrent_sessions   integer NOT NULL DEFAULT 1,
        max_containers_per_session integer NOT NULL DEFAULT 1,
        idle_timeout              bigint  NOT NULL DEFAULT 0,
        created_at                timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE keypairs (
        access_key       varchar(20) PRIMARY KEY CHECK (access_key ~ '^AKIA[A-Z2-7]{16}$'),
        secret_key       varchar(40) NOT NULL,
        user_id          bigint      NOT NULL REFERENCES users (id),
        is_active        boolean     NOT NULL DEFAULT true,
        is_admin         boolean     NOT NULL DEFAULT false,
        resource_policy  varchar(256) NOT NULL REFERENCES keypair_resource_policies (name),
        rate_limit       integer     NOT NULL DEFAULT 1000,
        concurrency_used integer     NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now(),
        last_used        timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX ix_keypairs_user_id ON keypairs (user_id)`);
    await queryRunner.query(`
      CREATE TABLE clusters (
        id          bigserial PRIMARY KEY,
        name        varchar(64) NOT NULL UNIQUE,
        scheduler   varchar(16) NOT NULL DEFAULT 'slurm',
        endpoint    text,
        is_active   boolean NOT NULL DEFAULT true,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE clusters`);
    await queryRunner.query(`DROP TABLE keypairs`);
    await queryRunner.query(`DROP TABLE keypair_resource_policies`);
    await queryRunner.query(`DROP TABLE users_keycloak`);
    await queryRunner.query(`DROP TABLE users_local`);
    await queryRunner.query(`DROP TABLE users`);
  }
}
