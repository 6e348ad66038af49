import { createHash } from 'node:crypto';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { flattenData, type FlatEntry, type FlattenProblem } from './flatten';
import { isReserved, normalisePrefix, reservedSegment } from './key-path';
import type { Environment } from './substitute';

/** How a fixture file treats keys under its prefix that exist in etcd. */
export type FixtureMode = 'merge' | 'replace' | 'create-only';

const modes: readonly FixtureMode[] = ['merge', 'replace', 'create-only'];
const fields = ['prefix', 'mode', 'override', 'data', 'data-file'];
const fieldList = 'prefix, mode, override, data and data-file';

/** One line a person reads: `<path>:<line>:<col>: <reason>`; the kind picks the exit code. */
export interface FixtureProblem {
  /** data: the file must change (exit 65); config: a variable must be set (exit 78) */
  kind: 'data' | 'config';
  /** the whole line, position first */
  text: string;
}

/** A YAML or JSON file read into a document (JSON is YAML 1.2, so one parser keeps line numbers for both). */
export interface SourceDocument {
  /** the path shown in messages */
  path: string;
  doc: Document.Parsed;
  /** `<path>:<line>:<col>` of a source offset */
  where: (offset: number) => string;
  /** the line of a source offset */
  line: (offset: number) => number;
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
  /** true: this file may replace keys that earlier files set */
  override: boolean;
  /** flattened keys relative to the namespace, with the offset of each value */
  entries: Map<string, FlatEntry>;
  /** `<path>:<line>:<col>` of an entry's offset (in the data file when `data-file` is used) */
  where: (offset: number) => string;
}

/** Parses YAML or JSON text; syntax problems go to `problems` and `undefined` means "invalid". */
export function readSource(path: string, text: string, problems: FixtureProblem[]): SourceDocument | undefined {
  const lineCounter = new LineCounter();
  // uniqueKeys off: flatten.ts finds duplicate keys itself, in linear time (yaml's check is quadratic).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const line = (offset: number): number => lineCounter.linePos(offset).line;
  const where = (offset: number): string => {
    const { line: at, col } = lineCounter.linePos(offset);
    return `${path}:${at}:${col}`;
  };
  const before = problems.length;
  for (const error of [...doc.errors, ...doc.warnings]) {
    problems.push({ kind: 'data', text: `${where(error.pos[0])}: ${error.message.split('\n')[0]}` });
  }
  return problems.length > before ? undefined : { path, doc, where, line };
}

/** The `data-file:` a fixture names, with its position, when it names one. */
export function dataFileOf(source: SourceDocument): { name: string; at: string } | undefined {
  const root = source.doc.contents;
  if (!isMap(root)) return undefined;
  const pair = root.items.find((item) => isScalar(item.key) && item.key.value === 'data-file');
  const value = pair?.value;
  if (!isScalar(value) || typeof value.value !== 'string' || value.value === '') return undefined;
  return { name: value.value, at: source.where(value.range?.[0] ?? 0) };
}

/**
 * Validates one fixture document; every problem goes to `problems`, and `undefined` means
 * "invalid". `dataSource` gives the document a `data-file:` names (already read and parsed).
 */
export function parseFixture(
  file: string,
  source: SourceDocument,
  env: Environment,
  problems: FixtureProblem[],
  dataSource: (name: string) => SourceDocument | undefined,
): ParsedFixture | undefined {
  const { path, where } = source;
  const before = problems.length;
  const fail = (node: Node | null | undefined, reason: string): void => {
    problems.push({ kind: 'data', text: `${where(node?.range?.[0] ?? 0)}: ${reason}` });
  };

  const root = source.doc.contents;
  if (!isMap(root)) {
    fail(root, root === null ? `the file is empty: expected ${fieldList}` : `expected a map with ${fieldList}`);
    return undefined;
  }
  const found = new Map<string, Node | null>();
  for (const pair of root.items) {
    const key = pair.key as Node | null;
    const name = isScalar(key) ? String(key.value) : '';
    if (!fields.includes(name)) {
      const hint = /\.json$/i.test(file)
        ? ' (to load a Backend.AI sample file as it is, add a small NN-name.yaml with prefix: and data-file: ' +
          `${file}; see the README)`
        : '';
      fail(key, `unknown field "${name}": a fixture file has only ${fieldList}${hint}`);
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

  const overrideNode = found.get('override');
  const override = isScalar(overrideNode) && overrideNode.value === true;
  if (found.has('override') && !(isScalar(overrideNode) && typeof overrideNode.value === 'boolean'))
    fail(overrideNode ?? root, 'override must be true or false');

  let data: Node | null | undefined = found.get('data');
  let dataDoc = source;
  const dataFile = found.get('data-file');
  if (found.has('data') && found.has('data-file')) {
    fail(dataFile, 'give either data or data-file, not both');
  } else if (found.has('data-file')) {
    const name = isScalar(dataFile) && typeof dataFile.value === 'string' ? dataFile.value : '';
    const referenced = name === '' ? undefined : dataSource(name);
    if (name === '') fail(dataFile ?? root, 'data-file must name a JSON or YAML file, e.g. sample.etcd.config.json');
    else if (referenced !== undefined) {
      dataDoc = referenced;
      data = referenced.doc.contents;
      if (!isMap(data))
        problems.push({ kind: 'data', text: `${referenced.where(0)}: expected a map of keys to values` });
    }
  } else if (!found.has('data')) {
    fail(root, 'data is missing: write data: {} for a file with no keys, or data-file: FILE');
  } else if (!isMap(data)) {
    fail(data ?? root, 'data must be a map of keys to values');
  }
  if (problems.length > before || !isMap(data)) return undefined;

  const report = (problem: FlattenProblem): void => {
    problems.push(describe(problem, dataDoc.where(problem.offset), dataDoc.line(problem.offset), dataDoc.path));
  };
  const entries = flattenData(data, prefix, env, report, dataDoc.line);
  if (problems.length > before) return undefined;
  return { file, path, prefix, mode, override, entries, where: dataDoc.where };
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
export function fixtureHash(
  prefix: string,
  mode: FixtureMode,
  entries: ReadonlyMap<string, string>,
  keep: ReadonlySet<string>,
): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify(['preflight-fixture/1', prefix, mode, sorted, ...(keep.size > 0 ? [[...keep].sort()] : [])]))
    .digest('hex');
}
