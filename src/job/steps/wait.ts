import { waitForEtcd, waitForPostgres, waitForRedis } from '../wait-for-stores';
import type { Step } from './step';

/** Connects to every configured store in parallel; what did connect is kept on the job so it gets closed. */
export const waitStep: Step<void, void> = {
  name: 'wait',
  async run(job) {
    const { config, log, signal } = job;
    const [postgres, etcd, redis] = await Promise.allSettled([
      waitForPostgres(config, log, signal),
      waitForEtcd(config, log, signal),
      waitForRedis(config, log, signal),
    ]);
    job.session = postgres.status === 'fulfilled' ? postgres.value : undefined;
    job.etcd = etcd.status === 'fulfilled' ? etcd.value : undefined;
    job.redis = redis.status === 'fulfilled' ? redis.value : undefined;
    const rejected = [postgres, etcd, redis].find((result) => result.status === 'rejected');
    if (rejected) throw rejected.reason;
    const stores = ['postgres', ...(config.etcd ? ['etcd'] : []), ...(config.redis ? ['redis'] : [])];
    return { status: 'applied', details: { stores }, value: undefined };
  },
};
