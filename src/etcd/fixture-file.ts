import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { PreflightError, reasonOf } from '../core/errors';
import { checkOverlaps } from './fixture-overlaps';
import { fixtureHash, parseFixture, type FixtureMode, type FixtureProblem, type ParsedFixture } from './parse-fixture';
import type { Environment } from './substitute';

export type { FixtureMode } from './parse-fixture';

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
  /** full key relative to the namespace (`config/redis/addr`) → value */
  entries: Map<string, string>;
  /** sha256 of the resolved prefix, mode and entries */
  hash: string;
}

/** How many problem lines one error carries before the rest are counted, not listed. */
const maxListedProblems = 50;

/**
 * Reads every `*.yaml`/`*.yml` file of `dir` in file-name order (other files are ignored; a missing
 * directory means no fixtures) and validates them all before anything is written. Throws one
 * PreflightError listing every problem: kind 'data' (exit 65) for a malformed file, 'config'
 * (exit 78) when the only problems are unset variables.
 */
export async function loadFixtureFiles(dir: string, env: Environment): Promise<FixtureFile[]> {
  const names = await fixtureNames(dir);
  const problems: FixtureProblem[] = [];
  const parsed: ParsedFixture[] = [];
  for (const file of names) {
    const path = displayPath(join(dir, file));
    const text = await readFile(join(dir, file), 'utf8').catch((error: unknown) => {
      throw new PreflightError('config', `${path}: cannot read the fixture file: ${reasonOf(error)}`, { cause: error });
    });
    const fixture = parseFixture(file, path, text, env, problems);
    if (fixture !== undefined) parsed.push(fixture);
  }
  if (problems.length === 0) checkOverlaps(parsed, problems);
  if (problems.length > 0) throw problemsError(problems);

  return parsed.map(({ file, path, prefix, mode, entries: flat }) => {
    const entries = new Map([...flat].map(([key, entry]) => [key, entry.value]));
    return { file, path, prefix, mode, entries, hash: fixtureHash(prefix, mode, entries) };
  });
}

async function fixtureNames(dir: string): Promise<string[]> {
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
  const candidates = names.filter((name) => /\.ya?ml$/.test(name)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // stat, not the dirent type: Kubernetes mounts ConfigMap files as symlinks.
  const isFile = await Promise.all(
    candidates.map(async (name) => {
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
  return candidates.filter((_, index) => isFile[index]);
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
