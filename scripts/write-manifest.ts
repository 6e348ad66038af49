/**
 * Build step: writes dist/migrations/preflight-manifest.json with the checksum of each migration's
 * TypeScript source, so runtime plans need neither the modules nor TypeORM.
 */
import { resolve } from 'node:path';
import { writeManifest } from '../src/postgres/manifest';

const root = resolve(__dirname, '../..');
writeManifest(resolve(root, 'dist/migrations'), resolve(root, 'migrations')).then(
  (migrations) => process.stdout.write(`preflight manifest: ${migrations.length} migrations\n`),
  (error: unknown) => {
    process.stderr.write(`write-manifest: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
