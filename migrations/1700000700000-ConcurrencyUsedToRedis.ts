import type { MigrationInterface, QueryRunner } from 'typeorm';
import { migrationContext } from '../src/postgres/migration-context';

const redisKey = (accessKey: string) => `keypair.concurrency_used.${accessKey}`;

/**
 * Each keypair's running-session count moves from PostgreSQL to Redis, where the manager updates
 * it on every session start and stop. Redis is written first (SET is idempotent), the column is
 * dropped in the same PostgreSQL transaction that records the migration: a crash in between leaves
 * the column in place and a re-run writes the same values again.
 */
export class ConcurrencyUsedToRedis1700000700000 implements MigrationInterface {
  name = 'ConcurrencyUsedToRedis1700000700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { redis, log } = migrationContext(queryRunner);
    const rows = (await queryRunner.query(`SELECT access_key, concurrency_used FROM keypairs`)) as Array<{
      access_key: string;
      concurrency_used: number;
    }>;
    if (rows.length > 0 && !redis) {
      throw new Error(
        `${rows.length} keypairs have a concurrency count to move to Redis, but Redis is not configured: set REDIS_URL`,
      );
    }
    if (redis && rows.length > 0) {
      const pipeline = redis.pipeline();
      for (const row of rows) pipeline.set(redisKey(row.access_key), String(row.concurrency_used));
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
    log.info({ event: 'migration.progress', name: this.name, keypairs: rows.length });
    await queryRunner.query(`ALTER TABLE keypairs DROP COLUMN concurrency_used`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const { redis } = migrationContext(queryRunner);
    await queryRunner.query(`ALTER TABLE keypairs ADD COLUMN concurrency_used integer NOT NULL DEFAULT 0`);
    const rows = (await queryRunner.query(`SELECT access_key FROM keypairs`)) as Array<{ access_key: string }>;
    if (rows.length === 0) return;
    if (!redis) throw new Error('the concurrency counts live in Redis, which is not configured: set REDIS_URL');
    const counts = await redis.mget(rows.map((row) => redisKey(row.access_key)));
    for (const [index, row] of rows.entries()) {
      await queryRunner.query(`UPDATE keypairs SET concurrency_used = $1 WHERE access_key = $2`, [
        Number(counts[index] ?? 0),
        row.access_key,
      ]);
    }
  }
}
