import type { Etcd3, IRequestOp } from 'etcd3';
import { PreflightError, reasonOf } from '../core/errors';
import type { Logger } from '../log/logger';
import type { FixtureFile } from './fixture-file';
import { keyspace, type Keyspace } from './key-path';
import { planFixtures, recordKey, type FixtureFilePlan } from './plan-fixtures';

export { planFixtures, type FixtureChange, type FixtureFilePlan, type FixturePlan } from './plan-fixtures';

/** What applying one fixture file did. */
export interface FixtureFileResult {
  /** base name of the fixture file */
  file: string;
  /** applied: its changes and hash record were written; unchanged: its hash matched, nothing written */
  status: 'applied' | 'unchanged';
  /** keys put */
  puts: number;
  /** keys deleted (mode replace) */
  deletes: number;
  /** time spent writing this file */
  durationMs: number;
}

/** etcd's default --max-txn-ops: the most operations one transaction may hold. */
const maxOpsPerTxn = 128;
/** Stays well under etcd's default --max-request-bytes (1.5 MiB) for files with large values. */
const maxBytesPerTxn = 1024 * 1024;
/** Transactions in flight at once for a file too large for one transaction. */
const txnsInFlight = 8;

/**
 * Applies the files in order. An unchanged run costs one range read and writes nothing, so the
 * etcd revision does not move. A changed file's puts, deletes and hash record go in ONE transaction
 * when they fit (≤127 changes: atomic); larger files are written in transactions of up to 128
 * operations, several in flight, and the hash record is written last, alone, so a crash part-way
 * leaves the old hash and the next run redoes the file (convergent). Relies on the job's lock:
 * nothing else writes these keys between plan and apply.
 */
export async function applyFixtures(
  client: Etcd3,
  namespace: string,
  files: readonly FixtureFile[],
  log: Logger,
): Promise<FixtureFileResult[]> {
  const keys = keyspace(namespace);
  const plan = await planFixtures(client, namespace, files);
  const results: FixtureFileResult[] = [];
  for (const filePlan of plan.files) {
    const { file } = filePlan.fixture;
    if (filePlan.status === 'unchanged') {
      log.info({ event: 'fixtures.file.unchanged', file });
      results.push({ file, status: 'unchanged', puts: 0, deletes: 0, durationMs: 0 });
      continue;
    }
    const startedAt = performance.now();
    await writeFile(client, keys, filePlan);
    const result: FixtureFileResult = {
      file,
      status: 'applied',
      puts: filePlan.puts.length,
      deletes: filePlan.deletes.length,
      durationMs: Math.round(performance.now() - startedAt),
    };
    log.info({
      event: 'fixtures.file.applied',
      file,
      puts: result.puts,
      deletes: result.deletes,
      durationMs: result.durationMs,
    });
    results.push(result);
  }
  return results;
}

async function writeFile(client: Etcd3, keys: Keyspace, filePlan: FixtureFilePlan): Promise<void> {
  const { fixture } = filePlan;
  const changes: IRequestOp[] = [
    ...filePlan.deletes.map(({ key }) => ({ request_delete_range: { key: Buffer.from(keys.full(key)) } })),
    ...filePlan.puts.map(({ key, after }) => put(keys.full(key), after ?? '')),
  ];
  const record = put(keys.full(recordKey(fixture.file)), fixture.hash);
  try {
    const batches = batch(changes);
    if (batches.length <= 1 && opsFit([...changes, record])) {
      await commit(client, [...changes, record]);
      return;
    }
    await inParallel(batches, txnsInFlight, (ops) => commit(client, ops));
    await commit(client, [record]);
  } catch (error) {
    throw new PreflightError(
      'software',
      `${fixture.path}: writing to etcd failed: ${reasonOf(error)} — the file is applied again on the next run`,
      {
        cause: error,
      },
    );
  }
}

function put(key: string, value: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value) } };
}

async function commit(client: Etcd3, ops: IRequestOp[]): Promise<void> {
  await client.kv.txn({ compare: [], success: ops, failure: [] });
}

/** Splits operations into transactions within etcd's operation and request-size limits. */
function batch(ops: IRequestOp[]): IRequestOp[][] {
  const batches: IRequestOp[][] = [];
  let current: IRequestOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = opBytes(op);
    if (current.length > 0 && (current.length === maxOpsPerTxn || bytes + size > maxBytesPerTxn)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function opsFit(ops: IRequestOp[]): boolean {
  return ops.length <= maxOpsPerTxn && ops.reduce((sum, op) => sum + opBytes(op), 0) <= maxBytesPerTxn;
}

function opBytes(op: IRequestOp): number {
  const request = op.request_put ?? op.request_delete_range;
  // 16 bytes covers the protobuf framing of one operation.
  return (request?.key?.length ?? 0) + (op.request_put?.value?.length ?? 0) + 16;
}

/**
 * Runs `work` over `items` with at most `limit` in flight; after a failure no new item starts, and
 * the first error is thrown only once every write in flight has settled.
 */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next];
      next += 1;
      await work(item).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = outcomes.find((outcome) => outcome.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}
