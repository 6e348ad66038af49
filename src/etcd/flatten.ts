import { isAlias, isMap, isScalar, isSeq, type Node, type Scalar } from 'yaml';
import { encodeSegment, isReserved, reservedSegment } from './key-path';
import { isSecretVariable } from './secret-values';
import { substitute, type Environment, type SubstitutionProblem } from './substitute';

/**
 * Flattens a fixture file's `data` map the way Backend.AI's `put-json` does: nested maps become
 * `/`-joined keys, each segment percent-encoded (so a YAML key containing `/` stays ONE segment),
 * and a key `""` stores its value at the parent path itself.
 *
 * Values: strings are stored after `${VAR}` substitution; numbers and booleans are stored exactly as
 * written (`1.50` stays `1.50`, `0x1F` stays `0x1F`), never re-formatted; null is an error.
 *
 * Lists are rejected. Backend.AI's manager reads list-like settings as comma-separated strings
 * (`project: stable,community`) and `put-json` would store a list as its Python repr, so there is no
 * convention to follow; guessing one (numbered keys) would write keys nobody reads.
 *
 * Duplicate keys in one map are found here rather than by the yaml parser (its check is quadratic
 * and slowed a 10,000-key file by half), by their text: `1: x` and `"1": y` are one key to etcd.
 * Because segments are encoded, two entries can then only flatten to the same key through `""`:
 * `a: { "": { b: 1 }, b: 2 }` defines `a/b` twice; that is reported as a collision.
 */

/** One flattened value and the offset of its YAML node, for line numbers. */
export interface FlatEntry {
  /** the value as stored in etcd, variables substituted */
  value: string;
  /** where the value starts in the file */
  offset: number;
  /** true when a secret-looking variable (`${REDIS_PASSWORD}`) went into the value */
  secret: boolean;
}

/** A problem found while flattening, at a source offset; `key` names the entry it concerns. */
export type FlattenProblem = SubstitutionProblem & { offset: number; key?: string };

/** Flattens `data` under `prefix` (already normalised); problems go to `report`, never thrown. */
export function flattenData(
  data: Node,
  prefix: string,
  env: Environment,
  report: (problem: FlattenProblem) => void,
  lineOf: (offset: number) => number,
): Map<string, FlatEntry> {
  const entries = new Map<string, FlatEntry>();
  const dataProblem = (node: Node | null, reason: string): void =>
    report({ kind: 'data', reason, offset: node?.range?.[0] ?? 0 });

  const walk = (node: Node | null, path: string, holder: Node): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const segment = keySegment(keyNode);
        if (segment === undefined) {
          dataProblem(keyNode ?? holder, 'a key must be a string, number or boolean');
          continue;
        }
        const offset = keyNode?.range?.[0] ?? 0;
        const first = seen.get(segment);
        if (first !== undefined) {
          dataProblem(keyNode, `duplicate key "${segment}" (first at line ${lineOf(first)})`);
          continue;
        }
        seen.set(segment, offset);
        const encoded = encodeSegment(segment);
        // `path` is normalised and an encoded segment holds no '/', so plain concatenation is safe.
        const child = segment === '' ? path : path === '' ? encoded : `${path}/${encoded}`;
        walk(pair.value as Node | null, child, keyNode ?? holder);
      }
      return;
    }
    if (isSeq(node)) {
      dataProblem(
        node,
        `lists are not supported (key ${path}): write a comma-separated string, as Backend.AI does, or a map`,
      );
      return;
    }
    if (isAlias(node)) {
      dataProblem(node, `aliases (*${node.source}) are not supported (key ${path}): repeat the value`);
      return;
    }
    if (!isScalar(node) || node.value === null) {
      dataProblem(holder, `key ${path} has no value (null): write "" for an empty string`);
      return;
    }
    const offset = node.range?.[0] ?? 0;
    if (path === '') {
      dataProblem(node, 'a value needs a key: "" at the namespace root has nowhere to go');
      return;
    }
    if (isReserved(path)) {
      dataProblem(node, `key ${path} is under "${reservedSegment}", which preflight keeps for its own records`);
      return;
    }
    const resolved = scalarText(node, env);
    if ('problem' in resolved) {
      report({ ...resolved.problem, offset, key: path });
      return;
    }
    const first = entries.get(path);
    if (first !== undefined) {
      dataProblem(node, `key ${path} is defined twice (first at line ${lineOf(first.offset)})`);
      return;
    }
    entries.set(path, { value: resolved.value, offset, secret: resolved.variables.some(isSecretVariable) });
  };

  walk(data, prefix, data);
  return entries;
}

function keySegment(key: Node | null): string | undefined {
  if (!isScalar(key)) return undefined;
  if (typeof key.value === 'string') return key.value;
  if (typeof key.value === 'number' || typeof key.value === 'boolean') return writtenText(key);
  return undefined;
}

function scalarText(
  node: Scalar,
  env: Environment,
): { value: string; variables: string[] } | { problem: SubstitutionProblem } {
  if (typeof node.value === 'string') return substitute(node.value, env);
  return { value: writtenText(node), variables: [] };
}

/** The scalar as written in the file, so `1.50` is not stored as `1.5`. */
function writtenText(node: Scalar): string {
  return node.source ?? String(node.value);
}
