import { createHash } from 'node:crypto';
import { isMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { flattenData, type FlatEntry, type FlattenProblem } from './flatten';
import { isReserved, normalisePrefix, reservedSegment } from './key-path';
import type { Environment } from './substitute';

/** How a fixture file treats keys under its prefix that exist in etcd. */
export type FixtureMode = 'merge' | 'replace' | 'create-only';

const modes: readonly FixtureMode[] = ['merge', 'replace', 'create-only'];
const fields = ['prefix', 'mode', 'data'];

/** One line a person reads: `<path>:<line>:<col>: <reason>`; the kind picks the exit code. */
export interface FixtureProblem {
  /** data: the file must change (exit 65); config: a variable must be set (exit 78) */
  kind: 'data' | 'config';
  /** the whole line, position first */
  text: string;
}

/** A file that parsed cleanly, with what cross-file checks need to name lines. */
export interface ParsedFixture {
  /** base name, e.g. `20-volumes.yaml` */
  file: string;
  /** the path shown in messages, e.g. `fixtures/etcd/20-volumes.yaml` */
  path: string;
  /** normalised prefix, '' for the namespace root */
  prefix: string;
  /** merge (default), replace or create-only */
  mode: FixtureMode;
  /** flattened keys relative to the namespace, with the offset of each value */
  entries: Map<string, FlatEntry>;
  /** `<path>:<line>:<col>` of a source offset */
  where: (offset: number) => string;
}

/** Parses one fixture file; every problem goes to `problems`, and `undefined` means "invalid". */
export function parseFixture(
  file: string,
  path: string,
  text: string,
  env: Environment,
  problems: FixtureProblem[],
): ParsedFixture | undefined {
  const lineCounter = new LineCounter();
  // uniqueKeys off: flatten.ts finds duplicate keys itself, in linear time (yaml's check is quadratic).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  const before = problems.length;
  const fail = (node: Node | null | undefined, reason: string): void => {
    problems.push({ kind: 'data', text: `${where(node?.range?.[0] ?? 0)}: ${reason}` });
  };

  for (const error of [...doc.errors, ...doc.warnings]) {
    problems.push({ kind: 'data', text: `${where(error.pos[0])}: ${error.message.split('\n')[0]}` });
  }
  if (problems.length > before) return undefined;

  const root = doc.contents;
  if (!isMap(root)) {
    fail(
      root,
      root === null ? 'the file is empty: expected prefix, mode and data' : 'expected a map with prefix, mode and data',
    );
    return undefined;
  }
  const found = new Map<string, Node | null>();
  for (const pair of root.items) {
    const key = pair.key as Node | null;
    const name = isScalar(key) ? String(key.value) : '';
    if (!fields.includes(name)) {
      fail(key, `unknown field "${name}": a fixture file has only prefix, mode and data`);
    } else if (found.has(name)) {
      fail(key, `duplicate key "${name}"`);
    } else {
      found.set(name, pair.value as Node | null);
    }
  }

  const prefixNode = found.get('prefix');
  let prefix = '';
  if (!found.has('prefix')) {
    fail(root, 'prefix is missing: write prefix: "" to put data at the namespace root');
  } else if (!isScalar(prefixNode) || typeof prefixNode.value !== 'string') {
    fail(prefixNode ?? root, 'prefix must be a string, e.g. prefix: config');
  } else {
    prefix = normalisePrefix(prefixNode.value);
    if (isReserved(prefix))
      fail(prefixNode, `prefix "${prefix}" is under "${reservedSegment}", which preflight keeps for its own records`);
  }

  const modeNode = found.get('mode');
  let mode: FixtureMode = 'merge';
  if (found.has('mode')) {
    const value = isScalar(modeNode) ? modeNode.value : undefined;
    const known = modes.find((candidate) => candidate === value);
    if (known === undefined)
      fail(modeNode ?? root, `unknown mode "${String(value)}": use merge, replace or create-only`);
    else mode = known;
  }

  const data = found.get('data');
  if (!found.has('data')) fail(root, 'data is missing: write data: {} for a file with no keys');
  else if (!isMap(data)) fail(data ?? root, 'data must be a map of keys to values');
  if (problems.length > before || !isMap(data)) return undefined;

  const report = (problem: FlattenProblem): void => {
    problems.push(describe(problem, where(problem.offset), lineCounter.linePos(problem.offset).line, path));
  };
  const entries = flattenData(data, prefix, env, report, (offset) => lineCounter.linePos(offset).line);
  if (problems.length > before) return undefined;
  return { file, path, prefix, mode, entries, where };
}

function describe(problem: FlattenProblem, position: string, line: number, path: string): FixtureProblem {
  if (problem.kind === 'config') {
    const name = problem.variable;
    return {
      kind: 'config',
      text: `${path}:${line}: \${${name}} is not set (key ${problem.key}) — set ${name} or give a default with \${${name}:-value}`,
    };
  }
  return { kind: 'data', text: `${position}: ${problem.reason}` };
}

/** sha256 of what a file resolves to, so a changed variable re-applies the file too. */
export function fixtureHash(prefix: string, mode: FixtureMode, entries: ReadonlyMap<string, string>): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify(['preflight-fixture/1', prefix, mode, sorted]))
    .digest('hex');
}
