import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MigrationInterface } from 'typeorm';
import { PreflightError } from '../core/errors';
import type { MigrationChecksum } from './migration-checksum';

export type MigrationClass = new () => MigrationInterface;

/** A migration shipped in the build: what TypeORM records for it, and how to load its class. */
export interface MigrationSource extends MigrationChecksum {
  name: string;
  timestamp: number;
  /** compiled file holding the class */
  file: string;
  /** true when the ledger should remember its file: loaded and checksummed this run, or known from the snapshot */
  rememberFile?: boolean;
  /** loads the module; only called when the migration is applied or reverted */
  load(): Promise<MigrationClass>;
}

/** The directory of PREFLIGHT_MIGRATIONS, which may be a directory or a `dir/*.js` pattern. */
export function migrationsDirectory(path: string): string {
  return /[*?]/.test(basename(path)) ? dirname(path) : path;
}

/** Compiled migration files: a directory, or a `dir/*.js`-style pattern of one level. */
export async function migrationFiles(path: string): Promise<string[]> {
  const isPattern = /[*?]/.test(basename(path));
  const directory = migrationsDirectory(path);
  const pattern = isPattern ? globToRegExp(basename(path)) : /\.(c?js|mjs)$/;
  let names: string[];
  try {
    // Synchronous, like the reads of the files: cheaper than promises for what every run does once.
    if (!statSync(directory).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    names = readdirSync(directory);
  } catch (error) {
    throw new PreflightError(
      'config',
      `PREFLIGHT_MIGRATIONS: cannot read ${directory} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const prefix = join(directory, '/');
  return names
    .filter((name) => pattern.test(name) && !name.endsWith('.d.ts'))
    .sort()
    .map((name) => prefix + name);
}

/**
 * Why a migrations directory yielded no migration, in words that say what to do:
 * TypeScript sources not compiled, a project root, an empty directory, or files of another kind.
 */
export async function emptyDirectoryReason(path: string): Promise<string> {
  let names: string[] = [];
  try {
    names = readdirSync(migrationsDirectory(path));
  } catch {
    // unreadable: described as empty
  }
  const typescript = names.filter((name) => /\.[cm]?ts$/.test(name) && !name.endsWith('.d.ts'));
  const compiled = names.filter((name) => /\.(c?js|mjs)$/.test(name));
  if (names.some((name) => ['package.json', 'tsconfig.json', 'node_modules'].includes(name)))
    return 'a project root: point at the compiled migrations directory (e.g. dist/migrations)';
  if (compiled.length > 0)
    return `${compiled.length} *.js file${compiled.length === 1 ? '' : 's'}, none exporting a migration class (a class with up())`;
  if (typescript.length > 0)
    return `only .ts sources (${typescript.length}): compile them first (tsc) and point at the compiled *.js files`;
  if (names.length === 0) return 'an empty directory';
  const sample = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
  return `no *.js files (found ${sample})`;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/**
 * A real dynamic import: TypeScript compiling to CommonJS would turn `import()` into `require()`,
 * which cannot load ES modules.
 */
const importModule = ((globalThis as Record<symbol, unknown>)[Symbol.for('preflight.import')] ??
  // the CLI's launcher (scripts/bundle-launcher.ts) provides one on Node 20: code V8 restores from a
  // code cache cannot import() by itself
  new Function('specifier', 'return import(specifier)')) as (specifier: string) => Promise<Record<string, unknown>>;

/** Loads a module: require() for CommonJS, import() for `.mjs` and for `.js` in a `"type": "module"` package. */
export async function loadModule(file: string): Promise<Record<string, unknown>> {
  if (file.endsWith('.mjs')) return importModule(pathToFileURL(file).href);
  try {
    return require(file) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
    return importModule(pathToFileURL(file).href);
  }
}

/** The migration classes a compiled file exports (CommonJS or ESM). */
export async function loadMigrationClasses(file: string): Promise<MigrationClass[]> {
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = await loadModule(file);
  } catch (error) {
    const reason = ((error as Error).message ?? String(error)).split('\n')[0];
    throw new PreflightError('data', `migration file ${basename(file)} cannot be loaded: ${reason}`, { cause: error });
  }
  return Object.values(moduleExports).filter(
    (exported): exported is MigrationClass =>
      typeof exported === 'function' && typeof exported.prototype?.up === 'function',
  );
}

/** The name and timestamp TypeORM records: `name` property or class name; timestamp = its last 13 digits. */
export function migrationIdentity(migrationClass: MigrationClass, file: string): { name: string; timestamp: number } {
  const name = new migrationClass().name ?? migrationClass.name;
  const timestamp = Number.parseInt(name.slice(-13), 10);
  if (!/\d{13}$/.test(name) || !Number.isFinite(timestamp)) {
    throw new PreflightError(
      'data',
      `migration ${name} in ${basename(file)} has no 13-digit timestamp at the end of its name (TypeORM needs e.g. ${name}1700000000000)`,
    );
  }
  return { name, timestamp };
}

/** Refuses two migrations with the same name or timestamp, then sorts by timestamp as TypeORM does. */
export function checkedOrder<T extends { name: string; timestamp: number; file: string }>(sources: T[]): T[] {
  const seen = new Map<string, T>();
  for (const source of sources) {
    const twin = seen.get(`name:${source.name}`) ?? seen.get(`timestamp:${source.timestamp}`);
    if (twin) {
      throw new PreflightError(
        'data',
        `migrations ${twin.name} (${basename(twin.file)}) and ${source.name} (${basename(source.file)}) share a name or timestamp: rename one`,
      );
    }
    seen.set(`name:${source.name}`, source).set(`timestamp:${source.timestamp}`, source);
  }
  return [...sources].sort((a, b) => a.timestamp - b.timestamp);
}

/** Finds one class by name in a file, for a migration known from the manifest. */
export function classLoader(file: string, name: string): () => Promise<MigrationClass> {
  return async () => {
    const found = (await loadMigrationClasses(file)).find(
      (migrationClass) => migrationIdentity(migrationClass, file).name === name,
    );
    if (!found)
      throw new PreflightError(
        'data',
        `migration ${name} is listed in the manifest but ${basename(file)} does not export it: rebuild`,
      );
    return found;
  };
}
