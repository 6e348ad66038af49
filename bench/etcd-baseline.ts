/**
 * The baseline of the fixtures benchmark: a plain etcd3 script that writes the same keys as the
 * generated fixture file, in transactions of 128 puts (etcd's default --max-txn-ops), 8 in flight.
 * No parsing, validation, diffing or hash record. Prints `{ keys, writeMs }` on stdout; writeMs
 * starts after one read has connected and authenticated, like preflight's `fixtures` step.
 *
 * Environment: ETCD_ENDPOINTS, ETCD_USERNAME, ETCD_PASSWORD, ETCD_NAMESPACE, BENCH_GROUPS,
 * BENCH_KEYS_PER_GROUP.
 */
import { Etcd3, type IRequestOp } from 'etcd3';
import { fixtureKey, fixtureValue } from './generate';

const opsPerTxn = 128;
const txnsInFlight = 8;

async function main(): Promise<void> {
  const env = process.env;
  const client = new Etcd3({
    hosts: (env.ETCD_ENDPOINTS ?? '').split(','),
    auth: { username: env.ETCD_USERNAME ?? '', password: env.ETCD_PASSWORD ?? '' },
  });
  const namespace = env.ETCD_NAMESPACE ?? '';
  const ops: IRequestOp[] = [];
  for (let group = 0; group < Number(env.BENCH_GROUPS); group++) {
    for (let key = 0; key < Number(env.BENCH_KEYS_PER_GROUP); key++) {
      ops.push({
        request_put: {
          key: Buffer.from(`${namespace}/${fixtureKey(group, key)}`),
          value: Buffer.from(fixtureValue(group, key)),
        },
      });
    }
  }
  const batches: IRequestOp[][] = [];
  for (let start = 0; start < ops.length; start += opsPerTxn) batches.push(ops.slice(start, start + opsPerTxn));
  // Connect and authenticate first, as preflight's wait step does before its fixtures step.
  await client.get(`${namespace}/_preflight`).exists();
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++];
      await client.kv.txn({ compare: [], success: batch, failure: [] });
    }
  };
  await Promise.all(Array.from({ length: txnsInFlight }, worker));
  const writeMs = performance.now() - started;
  client.close();
  process.stdout.write(`${JSON.stringify({ keys: ops.length, writeMs })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`etcd-baseline: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
