import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../support/context';

/** The platform's migrations in this build, by name, as the database should record them. */
export function platformMigrationNames(): string[] {
  const dir = path.resolve(__dirname, '../../migrations');
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.js'))
    .sort()
    .map((file) => {
      const [timestamp, name] = path.basename(file, '.js').split('-');
      return `${name}${timestamp}`;
    });
}

/** A directory of compiled (CommonJS) migrations written by the test: `{ 'Name1800000000001': 'up body' }`. */
export function migrationsDir(
  migrations: Record<string, { up: string; down?: string; transaction?: boolean }>,
): string {
  const dir = tempDir('preflight-migrations-');
  for (const [className, body] of Object.entries(migrations)) {
    const timestamp = className.slice(-13);
    const transaction = body.transaction === false ? '\n  transaction = false;' : '';
    fs.writeFileSync(
      path.join(dir, `${timestamp}-${className.slice(0, -13)}.js`),
      `exports.${className} = class ${className} {${transaction}
  async up(queryRunner) { ${body.up} }
  async down(queryRunner) { ${body.down ?? ''} }
};\n`,
    );
  }
  return dir;
}

/** Names in the migrations table, in order, or [] when the table does not exist. */
export async function recordedMigrations(db: {
  query(sql: string): Promise<Array<Record<string, unknown>>>;
}): Promise<string[]> {
  const [{ found }] = await db.query(`SELECT to_regclass('public.migrations') AS found`);
  if (found === null) return [];
  return (await db.query('SELECT name FROM migrations ORDER BY id')).map((row) => String(row.name));
}

export function failureLines(lines: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return lines.filter((line) => line.event === 'job.failed');
}

/** How many migrations a run applied, one by one or through the baseline snapshot. */
export function appliedCount(lines: Array<Record<string, unknown>>): number {
  return lines.reduce((count, line) => {
    if (line.event === 'migration.applied') return count + 1;
    if (line.event === 'baseline.applied') return count + Number(line.migrations);
    return count;
  }, 0);
}
