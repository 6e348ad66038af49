import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MigrationInterface } from 'typeorm';
import { PreflightError } from '../job/errors';

/** A migration class found in the build, with the name and timestamp TypeORM records for it. */
export interface MigrationSource {
  name: string;
  timestamp: number;
  file: string;
  create(): MigrationInterface;
}

type MigrationClass = new () => MigrationInterface;

/** Compiled migration files: a directory, or a `dir/*.js`-style pattern of one level. */
export async function migrationFiles(path: string): Promise<string[]> {
  const isPattern = /[*?]/.test(basename(path));
  const directory = isPattern ? dirname(path) : path;
  const pattern = isPattern ? globToRegExp(basename(path)) : /\.(c?js|mjs)$/;
  let names: string[];
  try {
    if (!(await stat(directory)).isDirectory()) throw new Error('not a directory');
    names = await readdir(directory);
  } catch (error) {
    throw new PreflightError('config', `PREFLIGHT_MIGRATIONS: cannot read ${directory} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return names.filter((name) => pattern.test(name) && !name.endsWith('.d.ts')).sort().map((name) => join(directory, name));
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Loads every migration class from the files (CommonJS or ESM), sorted by timestamp. */
export async function loadMigrations(path: string): Promise<MigrationSource[]> {
  const sources: MigrationSource[] = [];
  for (const file of await migrationFiles(path)) {
    let moduleExports: Record<string, unknown>;
    try {
      moduleExports = file.endsWith('.mjs') ? await import(pathToFileURL(file).href) : require(file);
    } catch (error) {
      throw new PreflightError('data', `migration file ${basename(file)} cannot be loaded: ${(error as Error).message}`, { cause: error });
    }
    for (const exported of Object.values(moduleExports)) {
      if (typeof exported !== 'function' || typeof exported.prototype?.up !== 'function') continue;
      const migrationClass = exported as MigrationClass;
      const instance = new migrationClass();
      const name = instance.name ?? migrationClass.name;
      const timestamp = Number(name.match(/(\d{13})$/)?.[1]);
      if (!Number.isFinite(timestamp)) {
        throw new PreflightError('data', `migration ${name} in ${basename(file)} has no 13-digit timestamp at the end of its name (TypeORM needs e.g. ${name}1700000000000)`);
      }
      sources.push({ name, timestamp, file, create: () => new migrationClass() });
    }
  }
  const seen = new Map<string, MigrationSource>();
  for (const source of sources) {
    const twin = seen.get(source.name) ?? seen.get(String(source.timestamp));
    if (twin) throw new PreflightError('data', `migrations ${twin.name} (${basename(twin.file)}) and ${source.name} (${basename(source.file)}) share a name or timestamp: rename one`);
    seen.set(source.name, source).set(String(source.timestamp), source);
  }
  return sources.sort((a, b) => a.timestamp - b.timestamp || a.name.localeCompare(b.name));
}
