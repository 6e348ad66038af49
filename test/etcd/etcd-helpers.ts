import type { Etcd3 } from 'etcd3';
import { loadFixtureFiles, type FixtureFile } from '../../src/etcd/fixture-file';
import type { LogEvent, Logger } from '../../src/log/logger';
import { fixtureDir } from './temp-fixtures';

/** A logger that keeps its events for assertions. */
export function memoryLogger(): Logger & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  const keep = (event: LogEvent): void => {
    events.push(event);
  };
  return { events, error: keep, warn: keep, info: keep, debug: keep };
}

/** Loads fixture files from YAML texts (name → text), as the job would. */
export async function fixtures(files: Record<string, string>, env: Record<string, string> = {}): Promise<FixtureFile[]> {
  return loadFixtureFiles(await fixtureDir(files), env);
}

/** etcd's current revision: it moves on every write, so an unchanged revision proves nothing was written. */
export async function revision(client: Etcd3): Promise<string> {
  return (await client.kv.range({ key: Buffer.from('preflight-test-revision-probe') })).header.revision;
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
