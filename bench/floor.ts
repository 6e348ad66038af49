/**
 * The floor of the no-op benchmark: start Node, connect to the same PostgreSQL, etcd and Redis
 * (in parallel, with the same credentials), read one value from each, close, exit. Anything
 * preflight does beyond this is overhead to justify.
 *
 * Environment: DATABASE_URL, ETCD_ENDPOINTS, ETCD_USERNAME, ETCD_PASSWORD, ETCD_NAMESPACE, REDIS_URL.
 */
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { Client } from 'pg';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`floor: ${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const pg = new Client({ connectionString: required('DATABASE_URL') });
  const etcd = new Etcd3({
    hosts: required('ETCD_ENDPOINTS').split(','),
    auth: { username: required('ETCD_USERNAME'), password: required('ETCD_PASSWORD') },
  });
  const redis = new Redis(required('REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 0 });
  const namespace = process.env.ETCD_NAMESPACE ?? '';
  const [head, fixtureRecord, redisValue] = await Promise.all([
    pg
      .connect()
      .then(
        async () =>
          (await pg.query<{ head: string | null }>('SELECT max("timestamp") AS head FROM migrations')).rows[0].head,
      ),
    etcd.get(`${namespace}/_preflight/fixtures/10-config.yaml`).string(),
    redis.connect().then(() => redis.get('bench:floor')),
  ]);
  await Promise.all([pg.end(), Promise.resolve(etcd.close()), redis.quit()]);
  process.stdout.write(`${JSON.stringify({ head, fixtureRecord: fixtureRecord !== null, redisValue })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`floor: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
