import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PreflightError } from '../core/errors';

/** `add users index` / `add-users-index` / `AddUsersIndex` → `AddUsersIndex`. */
function className(name: string): string {
  const pascal = name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(pascal)) {
    throw new PreflightError(
      'usage',
      `preflight create: "${name}" does not make a class name (start with a letter; letters and digits)`,
    );
  }
  return pascal;
}

/** Scaffolds `<dir>/<timestamp>-<Name>.ts` with a class TypeORM accepts; returns its path. */
export async function createMigration(name: string, dir: string, now = Date.now()): Promise<string> {
  const base = className(name);
  const timestamp = String(now).padStart(13, '0');
  const file = join(dir, `${timestamp}-${base}.ts`);
  const source = `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${base}${timestamp} implements MigrationInterface {
  name = '${base}${timestamp}';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The change, e.g. await queryRunner.query(\`ALTER TABLE users ADD COLUMN nickname text\`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Its exact undo, e.g. await queryRunner.query(\`ALTER TABLE users DROP COLUMN nickname\`);
  }
}
`;
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(file, source, { flag: 'wx' });
  } catch (error) {
    throw new PreflightError(
      'usage',
      `preflight create: cannot write ${file} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  return file;
}

/** What to do after `preflight create`: fill it in, compile, check, apply. */
export function createNextSteps(file: string): string {
  return [
    'Next:',
    `  1. write up() and its exact undo in down() in ${file}`,
    '  2. compile it (npm run build, or tsc) so the *.js lands in the directory PREFLIGHT_MIGRATIONS names',
    '  3. preflight status    shows it pending (exit 3)',
    '  4. preflight run       applies it; preflight down --yes reverts it',
  ].join('\n');
}
