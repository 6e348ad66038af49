/**
 * How fixture keys become etcd keys. We build full keys ourselves on a client that is NOT
 * namespaced (rather than etcd3's `client.namespace()`), so the reserved `_preflight` records,
 * range reads and deletes all go through the same few functions below:
 *
 *   <namespace>/<prefix>/<encoded key segments>     e.g. /sorna/local/config/redis/addr
 *
 * The namespace is used literally (Backend.AI's layout is ETCD_NAMESPACE=/sorna/<ns>); empty parts
 * and repeated slashes are dropped, so no key ever contains `//`.
 */

/** The first key segment under the namespace that preflight keeps for its own records. */
export const reservedSegment = '_preflight';

/** Where the content hash of each applied fixture file is recorded, relative to the namespace. */
export const fixtureRecordsPath = `${reservedSegment}/fixtures`;

const unreserved = /^[A-Za-z0-9_.\-~]$/;
const plainSegment = /^[A-Za-z0-9_.\-~]*$/;

/**
 * Percent-encodes one key segment exactly like Python's `urllib.parse.quote(segment, safe='')`,
 * which Backend.AI's `put-json` applies: `lablup/python:3.9` → `lablup%2Fpython%3A3.9`.
 */
export function encodeSegment(segment: string): string {
  if (plainSegment.test(segment)) return segment;
  let encoded = '';
  for (const char of segment) {
    if (unreserved.test(char)) {
      encoded += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) {
      encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return encoded;
}

/** A fixture prefix without leading, trailing or repeated slashes (`/config//docker/` → `config/docker`). */
export function normalisePrefix(prefix: string): string {
  return prefix
    .split('/')
    .filter((part) => part !== '')
    .join('/');
}

/** Joins key parts with single slashes; a leading `/` of the first part (namespace `/test/abc`) stays. */
export function joinKey(...parts: string[]): string {
  const leading = parts[0]?.startsWith('/') ? '/' : '';
  return (
    leading +
    parts
      .flatMap((part) => part.split('/'))
      .filter((part) => part !== '')
      .join('/')
  );
}

/** True when `key` is `base` itself or lies below it (`config` contains `config/a`, not `configx`). */
export function isWithin(key: string, base: string): boolean {
  if (base === '') return true;
  return key === base || key.startsWith(`${base}/`);
}

/** True when a key relative to the namespace belongs to preflight's reserved records. */
export function isReserved(relativeKey: string): boolean {
  return isWithin(relativeKey, reservedSegment);
}

/** The exclusive end of the etcd range holding every key that starts with `prefix`. */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index -= 1) {
    if (end[index] < 0xff) {
      end[index] += 1;
      return end.subarray(0, index + 1);
    }
  }
  return Buffer.from([0]);
}

/** Converts between keys relative to a namespace and the full keys etcd stores. */
export interface Keyspace {
  /** the full etcd key of a key relative to the namespace */
  full(relativeKey: string): string;
  /** the key relative to the namespace, or undefined for a key outside it */
  relative(fullKey: string): string | undefined;
  /** the etcd range [start, end) holding `relativeBase` itself and every key below it */
  subtree(relativeBase: string): { start: Buffer; end: Buffer };
}

/** The keyspace of `namespace` (`/test/abc`, `local`, or '' for none). */
export function keyspace(namespace: string): Keyspace {
  const root = joinKey(namespace);
  const lead = root === '' || root.endsWith('/') ? root : `${root}/`;
  const full = (relativeKey: string): string => joinKey(namespace, relativeKey);
  return {
    full,
    relative: (fullKey) =>
      fullKey.startsWith(lead) && fullKey.length > lead.length ? fullKey.slice(lead.length) : undefined,
    subtree(relativeBase) {
      const base = relativeBase === '' ? lead : full(relativeBase);
      const below = Buffer.from(base.endsWith('/') || base === '' ? base : `${base}/`);
      if (base === '') return { start: Buffer.from([0]), end: Buffer.from([0]) };
      return { start: Buffer.from(base), end: prefixRangeEnd(below) };
    },
  };
}
