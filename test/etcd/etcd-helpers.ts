import { after, before } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { etcdNamespace, type TestEtcdNamespace } from '../support/context';
import { loadFixtureFiles, type FixtureFile } from '../../src/etcd/fixture-file';
import type { LogEvent, Logger } from '../../src/log/logger';
import { fixtureDir } from './temp-fixtures';

/** A logger that keeps its events for assertions. */
export function memoryLogger(): Logger & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  const keep = (event: LogEvent): void => {
    events.push(event);
  };
  return { events, error: keep, warn: keep, info: keep, debug: keep, redact: (text) => text };
}

/** Loads fixture files from YAML texts (name → text), as the job would. */
export async function fixtures(
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<FixtureFile[]> {
  return loadFixtureFiles(await fixtureDir(files), env);
}

/**
 * Every key under the namespace with the revision of its last write. Test files share one etcd and
 * run concurrently, so the cluster-wide revision moves under a test's feet; two equal snapshots
 * prove that nothing under the namespace was put or deleted in between.
 */
export async function modRevisions(client: Etcd3, namespace: string): Promise<Record<string, bigint>> {
  const start = Buffer.from(`${namespace}/`);
  const end = Buffer.from(`${namespace}0`);
  const { kvs } = await client.kv.range({ key: start, range_end: end, keys_only: true });
  return Object.fromEntries(
    kvs.map(({ key, mod_revision }) => [key.toString().slice(start.length), BigInt(mod_revision)]),
  );
}

/** The keys under the namespace written after `snapshot` was taken, by their write revision. */
export async function writtenSince(
  client: Etcd3,
  namespace: string,
  snapshot: Record<string, bigint>,
): Promise<Record<string, bigint>> {
  const newest = Object.values(snapshot).reduce((max, revision) => (revision > max ? revision : max), 0n);
  const now = await modRevisions(client, namespace);
  return Object.fromEntries(
    Object.entries(now).filter(([key, revision]) => revision > newest || snapshot[key] !== revision),
  );
}

/** Every key under the namespace, relative to it. */
export async function readNamespace(client: Etcd3, namespace: string): Promise<Record<string, string>> {
  const all = await client.getAll().prefix(`${namespace}/`).strings();
  return Object.fromEntries(Object.entries(all).map(([key, value]) => [key.slice(namespace.length + 1), value]));
}

/** A fixture file with `count` keys, 100 per group, e.g. `g001/k042: value-1-42`. */
export function largeFixture(prefix: string, count: number, variant = ''): string {
  const lines = [`prefix: ${prefix}`, 'data:'];
  for (let group = 0; group * 100 < count; group += 1) {
    lines.push(`  g${String(group).padStart(3, '0')}:`);
    for (let index = group * 100; index < Math.min(count, (group + 1) * 100); index += 1) {
      lines.push(`    k${String(index % 100).padStart(3, '0')}: value-${group}-${index % 100}${variant}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Counts the client's KV range and txn calls until `restore()` is called. */
export function countKvCalls(client: Etcd3): { ranges: number; txns: number; restore(): void } {
  const { range, txn } = client.kv;
  const counts = {
    ranges: 0,
    txns: 0,
    restore: () => {
      client.kv.range = range;
      client.kv.txn = txn;
    },
  };
  client.kv.range = (...args) => {
    counts.ranges += 1;
    return range.apply(client.kv, args);
  };
  client.kv.txn = (...args) => {
    counts.txns += 1;
    return txn.apply(client.kv, args);
  };
  return counts;
}

/**
 * For a describe block: one namespace of the test etcd for the suite, removed after it, whose client
 * is handed to `onClient` before the tests run; returns `fresh()`, a new sub-namespace per test
 * (`<namespace>/<label><n>`), so tests sharing the suite never see each other's keys.
 */
export function suiteNamespace(label: string, onClient: (client: Etcd3) => void): () => string {
  let suite: TestEtcdNamespace | undefined;
  let run = 0;
  before(async () => {
    suite = await etcdNamespace();
    onClient(suite.client);
  });
  after(() => suite?.close());
  return () => `${suite!.namespace}/${label}${(run += 1)}`;
}
