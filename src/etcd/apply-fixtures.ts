import type { Etcd3, ICompare, IRequestOp } from 'etcd3';
import { retrying } from '../core/retry';
import { PreflightError, reasonOf } from '../core/errors';
import type { Logger } from '../log/logger';
import { storeOf, type EtcdStore } from './access';
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

/** Re-plans of one file after losing a compare-and-swap race, before giving up with exit 75. */
const maxConflictRetries = 20;

/** A conditional write lost its race: some key changed since it was read. */
class WriteConflict extends Error {}

/**
 * Applies the files in order. An unchanged run costs one range read and writes nothing, so the
 * etcd revision does not move. A changed file's puts, deletes and hash record go in ONE transaction
 * when they fit (≤127 changes: atomic); larger files are written in transactions of up to 128
 * operations, several in flight, and the hash record is written last, alone, so a crash part-way
 * leaves the old hash and the next run redoes the file (convergent).
 *
 * Concurrency is compare-and-swap, not a lock: every write is conditional on the key being as the
 * plan read it (absent: create revision 0; present: its mod revision), the hash record included.
 * When another writer (a concurrent apply, an operator) got there first, the transaction writes
 * nothing; the file is re-planned from what etcd holds now and the rest applied. So concurrent
 * applies of the same files write each key once, and `create-only` never overwrites a key someone
 * created after the plan read it.
 *
 * `beforeWrite(file)` runs before a file's first write; it may throw to stop before anything is written.
 */
export async function applyFixtures(
  etcd: Etcd3 | EtcdStore,
  namespace: string,
  files: readonly FixtureFile[],
  log: Logger,
  signal: AbortSignal = new AbortController().signal,
  beforeWrite: (file: string) => void = () => {},
): Promise<FixtureFileResult[]> {
  const keys = keyspace(namespace);
  const client = storeOf(etcd);
  const plan = await planFixtures(client, namespace, files);
  const results: FixtureFileResult[] = [];
  for (const fixture of files) {
    for (const { key, earlier } of fixture.overrides) {
      log.info({ event: 'fixtures.override', file: fixture.file, key, earlier });
    }
  }
  for (const first of plan.files) {
    const { file } = first.fixture;
    const startedAt = performance.now();
    let filePlan = first;
    const written = await retrying(
      async () => {
        if (filePlan.status === 'unchanged') return false;
        beforeWrite(file);
        if (await writeFile(await client.writer(), keys, filePlan)) return true;
        [filePlan] = (await planFixtures(client, namespace, [filePlan.fixture])).files;
        log.debug({ event: 'fixtures.file.conflict', file, message: 'etcd changed since it was read: re-planned' });
        throw new WriteConflict();
      },
      {
        initialDelayMs: 5,
        maxDelayMs: 200,
        jitter: 1,
        maxRetries: maxConflictRetries,
        signal,
        isRetryable: (error) => error instanceof WriteConflict,
      },
    ).catch((error: unknown) => {
      if (!(error instanceof WriteConflict)) throw error;
      throw new PreflightError(
        'tempfail',
        `${first.fixture.path}: keys under ${first.fixture.prefix || 'the namespace'} kept changing while being written ` +
          `(${maxConflictRetries + 1} attempts): another writer is editing them — run again`,
      );
    });
    if (!written) {
      log.info({ event: 'fixtures.file.unchanged', file });
      results.push({ file, status: 'unchanged', puts: 0, deletes: 0, durationMs: 0 });
      continue;
    }
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

/** A write and the condition it depends on. */
interface Guarded {
  op: IRequestOp;
  compare: ICompare;
}

/**
 * Writes one file's plan with compare-and-swap; false when a condition failed (nothing of that
 * transaction was written, earlier transactions of a large file may have been).
 */
export async function writeFile(client: Etcd3, keys: Keyspace, filePlan: FixtureFilePlan): Promise<boolean> {
  const { fixture } = filePlan;
  const changes: Guarded[] = [
    ...filePlan.deletes.map(({ key, modRevision }) => ({
      op: { request_delete_range: { key: Buffer.from(keys.full(key)) } },
      compare: unchangedSince(keys.full(key), modRevision),
    })),
    ...filePlan.puts.map(({ key, after, modRevision }) => ({
      op: put(keys.full(key), after ?? ''),
      compare: unchangedSince(keys.full(key), modRevision),
    })),
  ];
  const recordFull = keys.full(recordKey(fixture.file));
  const record = { op: put(recordFull, fixture.hash), compare: unchangedSince(recordFull, filePlan.recordRevision) };
  try {
    const batches = batch(changes);
    if (batches.length <= 1 && opsFit([...changes, record])) return await commit(client, [...changes, record]);
    await inParallel(batches, txnsInFlight, async (guarded) => {
      if (!(await commit(client, guarded))) throw new WriteConflict();
    });
    return await commit(client, [record]);
  } catch (error) {
    if (error instanceof WriteConflict) return false;
    throw new PreflightError(
      'software',
      `${fixture.path}: writing to etcd failed: ${reasonOf(error)} — the file is applied again on the next run`,
      {
        cause: error,
      },
    );
  }
}

/** The key is still absent (no mod revision) or still at the revision the plan read. */
function unchangedSince(key: string, modRevision: string | undefined): ICompare {
  return modRevision === undefined
    ? { key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }
    : { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: modRevision };
}

function put(key: string, value: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value) } };
}

async function commit(client: Etcd3, guarded: Guarded[]): Promise<boolean> {
  const response = await client.kv.txn({
    compare: guarded.map(({ compare }) => compare),
    success: guarded.map(({ op }) => op),
    failure: [],
  });
  return response.succeeded;
}

/** Splits operations into transactions within etcd's operation and request-size limits. */
function batch(ops: Guarded[]): Guarded[][] {
  const batches: Guarded[][] = [];
  let current: Guarded[] = [];
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

function opsFit(ops: Guarded[]): boolean {
  return ops.length <= maxOpsPerTxn && ops.reduce((sum, op) => sum + opBytes(op), 0) <= maxBytesPerTxn;
}

function opBytes({ op }: Guarded): number {
  const request = op.request_put ?? op.request_delete_range;
  // 32 bytes covers the protobuf framing of one operation and its compare (which repeats the key).
  return 2 * (request?.key?.length ?? 0) + (op.request_put?.value?.length ?? 0) + 32;
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
