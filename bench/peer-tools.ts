/**
 * The peers `npm run bench` measures beside preflight (issue 15, DESIGN §9): node-pg-migrate, knex,
 * umzug, postgres-migrations and TypeORM's CLI, from bench/package.json (never the main one), each
 * fed the same generated migrations (CREATE TABLE + CREATE INDEX each) in its own format and run the
 * way its documentation runs it: its CLI where it has one, its documented API call otherwise.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateMigrations, writeTypeormDataSource } from './generate';
import { cliPath, progress, repoRoot } from './process';

const benchDir = path.join(repoRoot, 'bench');
const peerModule = (name: string): string => path.join(benchDir, 'node_modules', name);

/** `npm ci` in bench/ when its node_modules is missing or older than its lockfile. */
export function ensurePeersInstalled(): void {
  const marker = path.join(benchDir, 'node_modules/.package-lock.json');
  const lock = path.join(benchDir, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  progress('installing the peers in bench/ (npm ci)');
  const result = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: benchDir,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (result.status !== 0)
    throw new Error(`npm ci in ${benchDir} exited ${result.status ?? result.signal}: ${result.stderr}`);
}

export function peerVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(path.join(peerModule(name), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** The two statements of generated migration `index` (1-based), the same for every tool. */
function statements(index: number): [string, string] {
  const table = `bench_${String(index).padStart(4, '0')}`;
  return [
    `CREATE TABLE "${table}" ("id" SERIAL PRIMARY KEY, "owner" varchar(64) NOT NULL, "created_at" timestamptz NOT NULL DEFAULT now())`,
    `CREATE INDEX "ix_${table}_owner" ON "${table}" ("owner")`,
  ];
}

const js = (text: string): string => JSON.stringify(text);

/** How to run one tool: a script and its arguments; DATABASE_URL comes from the environment. */
export interface PeerCommand {
  tool: string;
  /** package and version, for the results */
  version: string;
  script: string;
  args: string[];
  extraEnv?: Record<string, string>;
}

/** Writes every tool's migrations and runner files under `dir` and returns how to run each. */
export function preparePeers(dir: string, count: number): { preflight: PeerCommand; peers: PeerCommand[] } {
  const write = (file: string, text: string): string => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  const each = (fn: (index: number, sql: [string, string]) => void): void => {
    for (let index = 1; index <= count; index++) fn(index, statements(index));
  };
  const pad = (index: number): string => String(index).padStart(4, '0');

  // TypeORM's compiled migrations: preflight and TypeORM's CLI read the very same files.
  const typeormMigrations = path.join(dir, 'typeorm');
  generateMigrations(typeormMigrations, count);
  const dataSource = path.join(dir, 'typeorm-datasource.js');
  writeTypeormDataSource(dataSource, typeormMigrations, peerModule('typeorm'));

  const pgm = path.join(dir, 'node-pg-migrate');
  each((i, [table, index]) =>
    write(
      path.join(pgm, `${1_800_000_000_000 + i * 1000}_bench-table-${pad(i)}.js`),
      `exports.up = (pgm) => {\n  pgm.sql(${js(table)});\n  pgm.sql(${js(index)});\n};\n`,
    ),
  );

  const knex = path.join(dir, 'knex');
  each((i, [table, index]) =>
    write(
      path.join(knex, 'migrations', `${1_800_000_000_000 + i * 1000}_bench_table_${pad(i)}.js`),
      `exports.up = async (knex) => {\n  await knex.raw(${js(table)});\n  await knex.raw(${js(index)});\n};\nexports.down = async () => {};\n`,
    ),
  );
  // knex's CLI wants a local install beside the knexfile, as in a user's project.
  fs.symlinkSync(path.join(benchDir, 'node_modules'), path.join(knex, 'node_modules'), 'dir');
  const knexfile = write(
    path.join(knex, 'knexfile.js'),
    `module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: ${js(path.join(knex, 'migrations'))} } };\n`,
  );

  // umzug has no PostgreSQL storage of its own: the documented custom-storage shape, on pg.
  const umzug = path.join(dir, 'umzug');
  each((i, [table, index]) =>
    write(
      path.join(umzug, 'migrations', `${1_800_000_000_000 + i * 1000}-bench-table-${pad(i)}.js`),
      `exports.up = async ({ context: client }) => {\n  await client.query(${js(table)});\n  await client.query(${js(index)});\n};\nexports.down = async () => {};\n`,
    ),
  );
  const umzugRunner = write(
    path.join(umzug, 'migrate.js'),
    `const { Umzug } = require(${js(peerModule('umzug'))});
const { Client } = require(${js(peerModule('pg'))});
(async () => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const storage = {
    async executed() {
      await client.query('CREATE TABLE IF NOT EXISTS umzug_migrations (name text PRIMARY KEY)');
      return (await client.query('SELECT name FROM umzug_migrations')).rows.map((row) => row.name);
    },
    async logMigration({ name }) { await client.query('INSERT INTO umzug_migrations (name) VALUES ($1)', [name]); },
    async unlogMigration({ name }) { await client.query('DELETE FROM umzug_migrations WHERE name = $1', [name]); },
  };
  const umzug = new Umzug({ migrations: { glob: ${js(path.join(umzug, 'migrations/*.js'))} }, context: client, storage, logger: undefined });
  await umzug.up();
  await client.end();
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );

  const pm = path.join(dir, 'postgres-migrations');
  each((i, [table, index]) =>
    write(path.join(pm, 'migrations', `${i}_bench-table-${pad(i)}.sql`), `${table};\n${index};\n`),
  );
  const pmRunner = write(
    path.join(pm, 'migrate.js'),
    `const { migrate } = require(${js(peerModule('postgres-migrations'))});
const { Client } = require(${js(peerModule('pg'))});
(async () => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try { await migrate({ client }, ${js(path.join(pm, 'migrations'))}); } finally { await client.end(); }
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );

  return {
    preflight: {
      tool: 'preflight',
      version: 'this build',
      script: cliPath,
      args: ['run'],
      extraEnv: { PREFLIGHT_MIGRATIONS: typeormMigrations, LOG_FORMAT: 'json' },
    },
    peers: [
      {
        tool: 'postgres-migrations',
        version: peerVersion('postgres-migrations'),
        script: pmRunner,
        args: [],
      },
      {
        tool: 'knex',
        version: peerVersion('knex'),
        script: peerModule('knex/bin/cli.js'),
        args: ['migrate:latest', '--knexfile', knexfile],
      },
      { tool: 'umzug', version: peerVersion('umzug'), script: umzugRunner, args: [] },
      {
        tool: 'node-pg-migrate',
        version: peerVersion('node-pg-migrate'),
        script: peerModule('node-pg-migrate/bin/node-pg-migrate.js'),
        args: ['up', '-m', pgm],
      },
      {
        tool: 'TypeORM CLI -t each',
        version: peerVersion('typeorm'),
        script: peerModule('typeorm/cli.js'),
        args: ['migration:run', '-d', dataSource, '-t', 'each'],
      },
    ],
  };
}

/** The PostgreSQL-only floor: start Node, load pg, connect, `SELECT 1`, disconnect. */
export function writePgFloor(dir: string): string {
  const file = path.join(dir, 'pg-floor.js');
  fs.writeFileSync(
    file,
    `const { Client } = require(${js(peerModule('pg'))});
(async () => {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );
  return file;
}
