import { PreflightError, reasonOf } from '../core/errors';
import type { FixtureFile } from './fixture-file';
import type { KvReader } from './gateway';
import { encodeSegment, fixtureRecordsPath, isReserved, isWithin, joinKey, keyspace, type Keyspace } from './key-path';

/** One key a fixture file changes, relative to the namespace. */
export interface FixtureChange {
  /** e.g. `config/redis/addr` */
  key: string;
  /** the value in etcd now; undefined when the key is absent */
  before?: string;
  /** the value the file puts; undefined for a delete */
  after?: string;
  /** etcd's mod revision of `before`: the write is conditional on it (compare-and-swap) */
  modRevision?: string;
}

/** What applying one file would do. */
export interface FixtureFilePlan {
  /** the fixture file this plan is for */
  fixture: FixtureFile;
  /** unchanged: its hash record matches, nothing is read or written; changed: it will be applied */
  status: 'unchanged' | 'changed';
  /** the hash recorded by the last apply; undefined when the file was never applied */
  recordedHash?: string;
  /** etcd's mod revision of the hash record, undefined when absent: the record write is conditional on it */
  recordRevision?: string;
  /** keys to put (absent, or different unless mode is create-only); empty when unchanged */
  puts: FixtureChange[];
  /** keys to delete (mode replace only); empty when unchanged */
  deletes: FixtureChange[];
}

/** What applying a set of fixture files would do, for `fixtures diff`, `status` and apply. */
export interface FixturePlan {
  /** one plan per file, in file-name order */
  files: FixtureFilePlan[];
  /** record keys (`_preflight/fixtures/<file>`) of files no longer shipped; their keys are left alone */
  staleRecords: string[];
}

/** Keys per range page, so a huge prefix never meets gRPC's 4 MB message limit in one response. */
const rangePageSize = 1_000;

/**
 * Reads the hash records (one range read), then the subtree of each changed file (one range read
 * per file), and computes puts and deletes. Writes nothing. Read failures are PreflightError
 * 'unavailable' (exit 69): the store went away after the wait step.
 */
export async function planFixtures(
  client: { kv: KvReader },
  namespace: string,
  files: readonly FixtureFile[],
): Promise<FixturePlan> {
  const keys = keyspace(namespace);
  const records = await readSubtree(client, keys, fixtureRecordsPath);

  const plans = await Promise.all(
    files.map(async (fixture): Promise<FixtureFilePlan> => {
      const record = records.get(recordKey(fixture.file));
      const recorded = { recordedHash: record?.value, recordRevision: record?.modRevision };
      if (record?.value === fixture.hash) return { fixture, status: 'unchanged', ...recorded, puts: [], deletes: [] };
      const existing = await readSubtree(client, keys, fixture.prefix);
      return { fixture, status: 'changed', ...recorded, ...diff(fixture, existing) };
    }),
  );
  const shipped = new Set(files.map((fixture) => recordKey(fixture.file)));
  const staleRecords = [...records.keys()].filter((key) => key !== fixtureRecordsPath && !shipped.has(key)).sort();
  return { files: plans, staleRecords };
}

/** The key of a file's hash record, relative to the namespace. */
export function recordKey(file: string): string {
  return joinKey(fixtureRecordsPath, encodeSegment(file));
}

function diff(fixture: FixtureFile, existing: ReadonlyMap<string, Stored>): Pick<FixtureFilePlan, 'puts' | 'deletes'> {
  const puts: FixtureChange[] = [];
  for (const [key, after] of fixture.entries) {
    const stored = existing.get(key);
    if (stored === undefined) puts.push({ key, after });
    else if (fixture.mode !== 'create-only' && stored.value !== after)
      puts.push({ key, before: stored.value, after, modRevision: stored.modRevision });
  }
  const deletes: FixtureChange[] = [];
  if (fixture.mode === 'replace') {
    for (const [key, { value, modRevision }] of existing) {
      if (!fixture.entries.has(key) && !fixture.keep.has(key) && !isReserved(key))
        deletes.push({ key, before: value, modRevision });
    }
  }
  return { puts, deletes };
}

/** A value in etcd and the revision of its last write. */
interface Stored {
  value: string;
  modRevision: string;
}

/** Every key at or below `relativeBase`, relative to the namespace, read at one revision. */
async function readSubtree(
  client: { kv: KvReader },
  keys: Keyspace,
  relativeBase: string,
): Promise<Map<string, Stored>> {
  const { start, end } = keys.subtree(relativeBase);
  const values = new Map<string, Stored>();
  let from = start;
  let revision: string | undefined;
  try {
    for (;;) {
      const page = await client.kv.range({ key: from, range_end: end, limit: rangePageSize, revision });
      revision ??= page.header.revision;
      for (const { key, value, mod_revision } of page.kvs) {
        const relative = keys.relative(key.toString());
        if (relative !== undefined && isWithin(relative, relativeBase))
          values.set(relative, { value: value.toString(), modRevision: mod_revision });
      }
      const last = page.kvs.at(-1);
      if (!page.more || last === undefined) return values;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  } catch (error) {
    throw new PreflightError(
      'unavailable',
      `etcd: reading ${keys.full(relativeBase)} failed: ${reasonOf(error)} — check that etcd is up and the user may read ETCD_NAMESPACE`,
      {
        cause: error,
      },
    );
  }
}
