import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PreflightError, reasonOf } from '../core/errors';
import type { KnownFile } from './known-files';
import { migrationChecksum, textChecksum, type MigrationChecksum } from './migration-checksum';
import {
  checkedOrder,
  classLoader,
  loadMigrationClasses,
  migrationFiles,
  migrationIdentity,
  migrationsDirectory,
  type MigrationSource,
} from './migration-source';

/** The manifest beside the compiled migrations: what the build ships, so a plan needs no module loading. */
const manifestFileName = 'preflight-manifest.json';

export interface ManifestEntry extends MigrationChecksum {
  name: string;
  timestamp: number;
  /** compiled file, relative to the manifest */
  file: string;
}

interface Manifest {
  version: 2;
  migrations: ManifestEntry[];
}

/** The migrations found, and when the manifest was out of date, what it missed (those files were scanned). */
export interface MigrationCatalog {
  sources: MigrationSource[];
  /** files the manifest does not list or whose content differs from it; empty when the manifest was current or absent */
  staleFiles: string[];
}

/**
 * The migrations in `path`. The manifest is only a cache: every compiled file is hashed (a few
 * hundred small files cost milliseconds) and only those it lists unchanged are taken from it;
 * the others are loaded and checksummed, so a stale manifest never hides a migration or an edit.
 */
export async function migrationCatalog(
  path: string,
  known: ReadonlyMap<string, KnownFile> = new Map(),
): Promise<MigrationCatalog> {
  const directory = migrationsDirectory(path);
  const files = await migrationFiles(path);
  const manifest = await readManifest(directory);
  const listed = new Map<string, ManifestEntry[]>();
  for (const entry of manifest?.migrations ?? []) listed.set(entry.file, [...(listed.get(entry.file) ?? []), entry]);
  const names = files.map((file) => basename(file));
  const present = new Set(names);
  const missing = [...listed.keys()].filter((file) => !present.has(file) && !existsSync(join(directory, file)));
  if (missing.length > 0) {
    throw new PreflightError(
      'data',
      `${join(directory, manifestFileName)} lists ${missing.join(', ')}, which is not there: rebuild, or run preflight manifest ${directory}`,
    );
  }
  const sources: MigrationSource[] = [];
  const staleFiles: string[] = [];
  for (const [index, file] of files.entries()) {
    const entries = listed.get(names[index]);
    const remembered = known.get(names[index]);
    // Synchronous: for a few hundred small files, much cheaper than a promise and a file handle each.
    const current = entries || remembered ? textChecksum(readFileSync(file, 'utf8')) : undefined;
    if (entries && entries.every((entry) => entry.compiledChecksum === current)) {
      sources.push(...entries.map((entry) => ({ ...entry, file, load: classLoader(file, entry.name) })));
      continue;
    }
    if (manifest) staleFiles.push(names[index]);
    if (remembered && isCurrent(remembered, current)) {
      sources.push(...rememberedSources(remembered, file));
      continue;
    }
    sources.push(...(await scanMigrations([file])));
  }
  return { sources: checkedOrder(sources), staleFiles };
}

function isCurrent(remembered: KnownFile, compiledChecksum: string | undefined): boolean {
  return remembered.compiledChecksum === compiledChecksum && remembered.entries.length === remembered.migrations;
}

/** The migrations of a file the ledger remembers unchanged: their names and checksums as recorded, no module loaded. */
function rememberedSources(remembered: KnownFile, file: string): MigrationSource[] {
  return remembered.entries.map(({ name, checksum }) => ({
    name,
    timestamp: Number.parseInt(name.slice(-13), 10),
    file,
    checksum,
    compiledChecksum: remembered.compiledChecksum,
    checksumFrom: checksum === remembered.compiledChecksum ? 'compiled' : 'source',
    rememberFile: remembered.fromSnapshot === true,
    load: classLoader(file, name),
  }));
}

/** Loads each file and lists its classes, with checksums of their source where `sourceOf` or a source map finds it. */
export async function scanMigrations(
  files: string[],
  sourceOf: (file: string) => string | undefined = () => undefined,
): Promise<MigrationSource[]> {
  const sources: MigrationSource[] = [];
  for (const file of files) {
    const checksums = await migrationChecksum(file, sourceOf(file));
    for (const migrationClass of await loadMigrationClasses(file)) {
      const { name, timestamp } = migrationIdentity(migrationClass, file);
      sources.push({ name, timestamp, file, ...checksums, rememberFile: true, load: async () => migrationClass });
    }
  }
  return sources;
}

async function readManifest(directory: string): Promise<Manifest | undefined> {
  const file = join(directory, manifestFileName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PreflightError(
      'config',
      `PREFLIGHT_MIGRATIONS: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  let manifest: { version?: unknown; migrations?: unknown };
  try {
    manifest = JSON.parse(text) as typeof manifest;
  } catch (error) {
    throw new PreflightError(
      'data',
      `${file} is not valid JSON (${reasonOf(error)}): rebuild, or run preflight manifest ${directory}`,
    );
  }
  if (manifest.version === 1 && Array.isArray(manifest.migrations)) {
    // Written by an older preflight without the compiled files' checksums: every file counts as stale.
    return { version: 2, migrations: [] };
  }
  if (manifest.version !== 2 || !Array.isArray(manifest.migrations)) {
    throw new PreflightError(
      'data',
      `${file} is not a preflight manifest (version 2): rebuild, or run preflight manifest ${directory}`,
    );
  }
  return manifest as Manifest;
}

/**
 * Writes the manifest for the compiled migrations in `compiledDir`. With `sourceDir`, checksums come
 * from the TypeScript sources of the same base name (the build); otherwise from the source each
 * file's source map names, else from the compiled file (`preflight manifest DIR`).
 */
export async function writeManifest(compiledDir: string, sourceDir?: string): Promise<ManifestEntry[]> {
  const files = await migrationFiles(compiledDir);
  const sourceOf = (file: string) =>
    sourceDir === undefined ? undefined : join(sourceDir, basename(file).replace(/\.(c?js|mjs)$/, '.ts'));
  const sources = checkedOrder(await scanMigrations(files, sourceOf));
  const migrations = sources.map(({ name, timestamp, file, checksum, compiledChecksum, checksumFrom }) => ({
    name,
    timestamp,
    file: basename(file),
    checksum,
    compiledChecksum,
    checksumFrom,
  }));
  const manifest: Manifest = { version: 2, migrations };
  await writeFile(join(compiledDir, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
  return migrations;
}
