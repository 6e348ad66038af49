/** Generated inputs: compiled TypeORM migrations, TypeORM's DataSource file, a large fixture file. */
import * as fs from 'node:fs';
import * as path from 'node:path';

const firstTimestamp = 1_800_000_000_000;

/** The class name TypeORM records for generated migration `index` (1-based). */
export function migrationName(index: number): string {
  return `BenchTable${String(index).padStart(4, '0')}${firstTimestamp + index * 1000}`;
}

/**
 * Writes `count` migrations as `tsc` would compile them to CommonJS (type-only imports vanish, so
 * they require nothing), each creating a small table and an index on it.
 */
export function generateMigrations(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let index = 1; index <= count; index++) {
    const name = migrationName(index);
    const table = `bench_${String(index).padStart(4, '0')}`;
    const source = `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.${name} = void 0;
class ${name} {
    name = '${name}';
    async up(queryRunner) {
        await queryRunner.query(\`CREATE TABLE "${table}" ("id" SERIAL PRIMARY KEY, "owner" varchar(64) NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now())\`);
        await queryRunner.query(\`CREATE INDEX "ix_${table}_owner" ON "${table}" ("owner")\`);
    }
    async down(queryRunner) {
        await queryRunner.query(\`DROP TABLE "${table}"\`);
    }
}
exports.${name} = ${name};
`;
    fs.writeFileSync(
      path.join(dir, `${firstTimestamp + index * 1000}-BenchTable${String(index).padStart(4, '0')}.js`),
      source,
    );
  }
}

/**
 * A compiled CommonJS DataSource for `typeorm migration:run -d`: the same migrations, the database
 * from DATABASE_URL, one transaction per migration. typeorm is required by absolute path because
 * the file lives in a temp dir outside the project.
 */
export function writeTypeormDataSource(file: string, migrationsDir: string, typeormDir: string): void {
  fs.writeFileSync(
    file,
    `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
const { DataSource } = require(${JSON.stringify(typeormDir)});
exports.default = new DataSource({
    type: 'postgres',
    url: process.env.DATABASE_URL,
    migrations: [${JSON.stringify(`${migrationsDir}/*.js`)}],
    migrationsTransactionMode: 'each',
    logging: false,
});
`,
  );
}

/** The fixture layout: `groups` maps of `keysPerGroup` keys, under prefix `bench`. */
export interface FixtureShape {
  groups: number;
  keysPerGroup: number;
}

export function fixtureKey(group: number, key: number): string {
  return `bench/g${String(group).padStart(3, '0')}/k${String(key).padStart(3, '0')}`;
}

export function fixtureValue(group: number, key: number): string {
  return `value-${group}-${key}-${((group * 7919 + key * 104729) % 1_000_003).toString(36)}`;
}

/** Writes `<dir>/50-bench.yaml` holding groups × keysPerGroup keys. */
export function generateFixture(dir: string, shape: FixtureShape): string {
  fs.mkdirSync(dir, { recursive: true });
  const lines = ['prefix: bench', 'mode: merge', 'data:'];
  for (let group = 0; group < shape.groups; group++) {
    lines.push(`  g${String(group).padStart(3, '0')}:`);
    for (let key = 0; key < shape.keysPerGroup; key++) {
      lines.push(`    k${String(key).padStart(3, '0')}: ${fixtureValue(group, key)}`);
    }
  }
  const file = path.join(dir, '50-bench.yaml');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
