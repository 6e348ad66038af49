/**
 * Build step: writes dist/migrations/preflight-manifest.json with the checksum of each migration's
 * TypeScript source, so runtime plans need neither the modules nor TypeORM.
 */
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { baselineFileName } from '../src/postgres/apply-baseline';
import { writeManifest } from '../src/postgres/manifest';

const root = resolve(__dirname, '../..');

/** The manifest, plus the committed schema snapshot (migrations/baseline.sql) beside the compiled migrations. */
async function build(): Promise<string> {
  const migrations = await writeManifest(resolve(root, 'dist/migrations'), resolve(root, 'migrations'));
  const snapshot = resolve(root, 'migrations', baselineFileName);
  if (existsSync(snapshot)) await copyFile(snapshot, resolve(root, 'dist/migrations', baselineFileName));
  return `preflight manifest: ${migrations.length} migrations${existsSync(snapshot) ? ', baseline copied' : ''}\n`;
}

build().then(
  (summary) => process.stdout.write(summary),
  (error: unknown) => {
    process.stderr.write(`write-manifest: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
