import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PreflightError, reasonOf } from '../core/errors';
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

export interface ManifestEntry {
  name: string;
  timestamp: number;
  /** compiled file, relative to the manifest */
  file: string;
  checksum: string;
}

interface Manifest {
  version: 1;
  migrations: ManifestEntry[];
}

/**
 * Checksum of a migration's source, insensitive to what editors and checkouts change without
 * changing meaning: line endings, trailing spaces, a trailing newline, a byte-order mark.
 */
function sourceChecksum(text: string): string {
  const normalised = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd();
  return createHash('sha256').update(normalised).digest('hex');
}

/**
 * The migrations in `path`: from its manifest when there is one (no module is loaded), otherwise by
 * loading every compiled file and checksumming it.
 */
export async function migrationCatalog(path: string): Promise<MigrationSource[]> {
  const directory = migrationsDirectory(path);
  const manifest = await readManifest(directory);
  if (manifest) {
    return checkedOrder(
      manifest.migrations.map((entry) => {
        const file = join(directory, entry.file);
        return {
          name: entry.name,
          timestamp: entry.timestamp,
          file,
          checksum: entry.checksum,
          load: classLoader(file, entry.name),
        };
      }),
    );
  }
  const files = await migrationFiles(path);
  return checkedOrder(await scanMigrations(files, async (file) => sourceChecksum(await readFile(file, 'utf8'))));
}

/** Loads each file and lists its classes, with checksums from `checksumOf`. */
async function scanMigrations(
  files: string[],
  checksumOf: (file: string) => Promise<string>,
): Promise<MigrationSource[]> {
  const sources: MigrationSource[] = [];
  for (const file of files) {
    const checksum = await checksumOf(file);
    for (const migrationClass of await loadMigrationClasses(file)) {
      const { name, timestamp } = migrationIdentity(migrationClass, file);
      sources.push({ name, timestamp, file, checksum, load: async () => migrationClass });
    }
  }
  return sources;
}

async function readManifest(directory: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(directory, manifestFileName), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PreflightError(
      'config',
      `PREFLIGHT_MIGRATIONS: cannot read ${join(directory, manifestFileName)} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    throw new PreflightError(
      'data',
      `${join(directory, manifestFileName)} is not valid JSON (${reasonOf(error)}): rebuild, or run preflight manifest`,
    );
  }
  if (manifest.version !== 1 || !Array.isArray(manifest.migrations)) {
    throw new PreflightError(
      'data',
      `${join(directory, manifestFileName)} is not a preflight manifest (version 1): rebuild, or run preflight manifest`,
    );
  }
  return manifest;
}

/**
 * Writes the manifest for the compiled migrations in `compiledDir`. With `sourceDir`, checksums come
 * from the TypeScript sources of the same base name (the build); otherwise from the compiled files
 * (`preflight manifest` for a directory of another project's migrations).
 */
export async function writeManifest(compiledDir: string, sourceDir?: string): Promise<ManifestEntry[]> {
  const files = await migrationFiles(compiledDir);
  const checksumOf = async (file: string) => {
    const source = sourceDir ? join(sourceDir, basename(file).replace(/\.(c?js|mjs)$/, '.ts')) : file;
    return sourceChecksum(await readFile(source, 'utf8'));
  };
  const sources = checkedOrder(await scanMigrations(files, checksumOf));
  const migrations = sources.map(({ name, timestamp, file, checksum }) => ({
    name,
    timestamp,
    file: basename(file),
    checksum,
  }));
  const manifest: Manifest = { version: 1, migrations };
  await writeFile(join(compiledDir, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
  return migrations;
}
