import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { PreflightError, reasonOf } from '../core/errors';
import { checkOverlaps, type FixtureOverride } from './fixture-overlaps';
import {
  dataFileOf,
  fixtureHash,
  parseFixture,
  readSource,
  type FixtureMode,
  type FixtureProblem,
  type ParsedFixture,
  type SourceDocument,
} from './parse-fixture';
import type { Environment } from './substitute';

export type { FixtureMode } from './parse-fixture';
export type { FixtureOverride } from './fixture-overlaps';

/** A validated fixture file, resolved against the environment and ready to plan (DESIGN §4). */
export interface FixtureFile {
  /** base name, e.g. `20-volumes.yaml`; also the name of its hash record */
  file: string;
  /** the path shown in messages, e.g. `fixtures/etcd/20-volumes.yaml` */
  path: string;
  /** normalised prefix relative to the namespace, '' for the namespace root */
  prefix: string;
  /** merge (default): put listed keys; replace: also delete unlisted ones; create-only: never overwrite */
  mode: FixtureMode;
  /** full key relative to the namespace (`config/redis/addr`) → value; keys a later file overrides are left out */
  entries: Map<string, string>;
  /** keys a later file overrides: this file neither puts nor (mode replace) deletes them */
  keep: Set<string>;
  /** keys whose value came from a secret-looking variable (`${REDIS_PASSWORD}`): never printed */
  secretKeys: Set<string>;
  /** keys this file takes over from earlier files (`override: true`) */
  overrides: FixtureOverride[];
  /** sha256 of the resolved prefix, mode and entries */
  hash: string;
}

/** How many problem lines one error carries before the rest are counted, not listed. */
const maxListedProblems = 50;
const fixtureName = /\.(ya?ml|json)$/i;

/**
 * Reads every `*.yaml`, `*.yml` and `*.json` file of `dir` in file-name order (a missing directory
 * means no fixtures) and validates them all before anything is written. A file a fixture names with
 * `data-file:` is data, not a fixture; `*.md` files are skipped; any other file is an error (65),
 * never silently ignored. Throws one PreflightError listing every problem: kind 'data' (exit 65)
 * for a malformed file, 'config' (exit 78) when the only problems are unset variables.
 */
export async function loadFixtureFiles(dir: string, env: Environment): Promise<FixtureFile[]> {
  const names = await fileNames(dir);
  const problems: FixtureProblem[] = [];
  const sources = new Map<string, SourceDocument>();
  for (const name of names.filter((file) => fixtureName.test(file))) {
    const source = readSource(displayPath(join(dir, name)), await readText(join(dir, name)), problems);
    if (source !== undefined) sources.set(resolve(dir, name), source);
  }
  const claimed = new Set<string>();
  for (const source of [...sources.values()]) {
    const reference = dataFileOf(source);
    if (reference === undefined) continue;
    const target = resolve(dir, reference.name);
    claimed.add(target);
    if (sources.has(target)) continue;
    const text = await readFile(target, 'utf8').catch((error: unknown) => {
      problems.push({
        kind: 'data',
        text: `${reference.at}: cannot read data-file ${reference.name}: ${reasonOf(error)}`,
      });
    });
    const data = text === undefined ? undefined : readSource(displayPath(target), text, problems);
    if (data !== undefined) sources.set(target, data);
  }
  const parsed: ParsedFixture[] = [];
  for (const file of names) {
    const full = resolve(dir, file);
    if (claimed.has(full) || /\.md$/i.test(file)) continue;
    const source = sources.get(full);
    if (!fixtureName.test(file)) {
      problems.push({
        kind: 'data',
        text:
          `${displayPath(full)}: not a fixture file: this directory holds *.yaml, *.yml and *.json fixtures, ` +
          'files they name with data-file:, and *.md notes; rename, reference or move it',
      });
    } else if (source !== undefined) {
      const fixture = parseFixture(file, source, env, problems, (name) => sources.get(resolve(dir, name)));
      if (fixture !== undefined) parsed.push(fixture);
    }
  }
  const { overrides, overridden } =
    problems.length === 0 ? checkOverlaps(parsed, problems) : { overrides: [], overridden: new Map() };
  if (problems.length > 0) throw problemsError(problems);

  return parsed.map((fixture) => {
    const { file, path, prefix, mode } = fixture;
    const keep = overridden.get(fixture) ?? new Set<string>();
    const kept = [...fixture.entries].filter(([key]) => !keep.has(key));
    const entries = new Map(kept.map(([key, entry]) => [key, entry.value]));
    const secretKeys = new Set(kept.filter(([, entry]) => entry.secret).map(([key]) => key));
    const own = overrides.filter((override) => override.file === file);
    return {
      ...{ file, path, prefix, mode, entries, keep, secretKeys, overrides: own },
      hash: fixtureHash(prefix, mode, entries, keep),
    };
  });
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((error: unknown) => {
    throw new PreflightError('config', `${displayPath(path)}: cannot read the fixture file: ${reasonOf(error)}`, {
      cause: error,
    });
  });
}

/** The regular files of `dir`, sorted by name; directories (Kubernetes' `..data`) are skipped. */
async function fileNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return [];
    throw new PreflightError(
      'config',
      `${dir}: cannot read the fixtures directory: ${reasonOf(error)} — check PREFLIGHT_FIXTURES`,
      {
        cause: error,
      },
    );
  }
  const sorted = names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // stat, not the dirent type: Kubernetes mounts ConfigMap files as symlinks.
  const isFile = await Promise.all(
    sorted.map(async (name) => {
      try {
        return (await stat(join(dir, name))).isFile();
      } catch (error) {
        throw new PreflightError(
          'config',
          `${displayPath(join(dir, name))}: cannot read the fixture file: ${reasonOf(error)}`,
          { cause: error },
        );
      }
    }),
  );
  return sorted.filter((_, index) => isFile[index]);
}

/** Data problems win over unset variables: the file must be fixed before the environment matters. */
function problemsError(problems: FixtureProblem[]): PreflightError {
  const dataProblems = problems.filter((problem) => problem.kind === 'data');
  const ordered =
    dataProblems.length > 0 ? [...dataProblems, ...problems.filter((p) => p.kind === 'config')] : problems;
  const [first, ...rest] = ordered;
  const details = rest.slice(0, maxListedProblems).map((problem) => problem.text);
  if (rest.length > maxListedProblems) details.push(`... and ${rest.length - maxListedProblems} more problems`);
  return new PreflightError(dataProblems.length > 0 ? 'data' : 'config', first.text, { details });
}

function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}
