/**
 * Own migrations keep importing `typeorm` from their own project while preflight runs from its
 * single-file bundle (issue 15): a project with its own copy of typeorm (0.3.x, then 1.x, from the
 * npm registry) whose migrations build Table, TableColumn, TableIndex and TableForeignKey objects
 * and hand them to the QueryRunner the bundle's TypeORM created. Needs the npm registry or a warm
 * npm cache, and fails, rather than skips, without it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';

const run = promisify(execFile);

/** A project folder with `typeorm@<spec>` installed from the registry; returns its installed version. */
async function projectWithTypeorm(spec: string): Promise<{ dir: string; version: string }> {
  const dir = tempDir('preflight-own-typeorm-');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'own-project', private: true }));
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(PREFLIGHT_|npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$)/.test(key)) env[key] = value;
  try {
    await run(
      'npm',
      [
        'install',
        `typeorm@${spec}`,
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--prefer-offline',
        '--loglevel=error',
      ],
      { cwd: dir, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    throw new Error(
      `npm install typeorm@${spec} failed; this test needs the npm registry or a warm npm cache: ${error}`,
    );
  }
  const manifest = path.join(dir, 'node_modules/typeorm/package.json');
  return { dir, version: (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version };
}

const createMigration = `const { Table, TableColumn, TableIndex, TableForeignKey } = require('typeorm');

class CreateWidgets1700000000001 {
  async up(queryRunner) {
    await queryRunner.createTable(
      new Table({
        name: 'widget',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'label', type: 'varchar', length: '80' },
        ],
      }),
    );
    await queryRunner.addColumn('widget', new TableColumn({ name: 'weight', type: 'integer', isNullable: true, default: 3 }));
    await queryRunner.createIndex('widget', new TableIndex({ name: 'widget_label_idx', columnNames: ['label'] }));
    await queryRunner.createTable(
      new Table({ name: 'part', columns: [{ name: 'id', type: 'serial', isPrimary: true }, { name: 'widget_id', type: 'integer' }] }),
    );
    await queryRunner.createForeignKey(
      'part',
      new TableForeignKey({ name: 'part_widget_fk', columnNames: ['widget_id'], referencedTableName: 'widget', referencedColumnNames: ['id'], onDelete: 'CASCADE' }),
    );
    await queryRunner.query('CREATE TABLE typeorm_seen (resolved text NOT NULL)');
    await queryRunner.query('INSERT INTO typeorm_seen VALUES ($1)', [require.resolve('typeorm')]);
  }
  async down(queryRunner) {
    await queryRunner.dropTable('typeorm_seen');
    await queryRunner.dropTable('part');
    await queryRunner.dropTable('widget');
  }
}
exports.CreateWidgets1700000000001 = CreateWidgets1700000000001;
`;

const changeMigration = `const { TableColumn } = require('typeorm');

class ChangeWidgets1700000000002 {
  async up(queryRunner) {
    const table = await queryRunner.getTable('widget');
    const weight = table.findColumnByName('weight');
    if (!weight) throw new Error('getTable did not return the weight column');
    await queryRunner.changeColumn(table, weight, new TableColumn({ name: 'weight_grams', type: 'bigint', isNullable: false, default: 0 }));
    if (!(await queryRunner.hasColumn('widget', 'weight_grams'))) throw new Error('hasColumn misses weight_grams');
  }
  async down(queryRunner) {
    await queryRunner.changeColumn('widget', 'weight_grams', new TableColumn({ name: 'weight', type: 'integer', isNullable: true, default: 3 }));
  }
}
exports.ChangeWidgets1700000000002 = ChangeWidgets1700000000002;
`;

for (const spec of ['0.3', '1']) {
  test(
    `migrations using their own typeorm@${spec} (Table, TableColumn, TableIndex, TableForeignKey) run from the bundle`,
    {
      timeout: 300_000,
    },
    async () => {
      const project = await projectWithTypeorm(spec);
      assert.ok(project.version.startsWith(`${spec}.`), `npm installed typeorm ${project.version} for ${spec}`);
      const migrations = path.join(project.dir, 'migrations');
      fs.mkdirSync(migrations);
      fs.writeFileSync(path.join(migrations, '1700000000001-CreateWidgets.js'), createMigration);
      fs.writeFileSync(path.join(migrations, '1700000000002-ChangeWidgets.js'), changeMigration);

      const db = await freshDatabase();
      try {
        const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: migrations };
        const first = await runCli(['run'], env, { cwd: project.dir });
        assert.equal(first.code, 0, `${first.stdout.slice(-3000)}\n${first.stderr.slice(-2000)}`);

        const [seen] = await db.query('SELECT resolved FROM typeorm_seen');
        assert.ok(
          String(seen.resolved).startsWith(path.join(project.dir, 'node_modules/typeorm/')),
          `the migration's require('typeorm') is the project's own copy: ${seen.resolved}`,
        );
        const columns = await db.query(
          `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
          WHERE table_name = 'widget' ORDER BY ordinal_position`,
        );
        assert.deepEqual(
          columns.map((c) => [c.column_name, c.data_type, c.is_nullable]),
          [
            ['id', 'integer', 'NO'],
            ['label', 'character varying', 'NO'],
            ['weight_grams', 'bigint', 'NO'],
          ],
        );
        assert.equal(columns[2].column_default, '0');
        assert.deepEqual(await db.query(`SELECT indexname FROM pg_indexes WHERE indexname = 'widget_label_idx'`), [
          { indexname: 'widget_label_idx' },
        ]);
        assert.deepEqual(
          await db.query(`SELECT confdeltype FROM pg_constraint WHERE conname = 'part_widget_fk'`),
          [{ confdeltype: 'c' }],
          'the foreign key with ON DELETE CASCADE',
        );

        const again = await runCli(['run'], env, { cwd: project.dir });
        assert.equal(again.code, 0, again.stdout.slice(-2000));
        assert.equal(again.lines.filter((line) => line.event === 'migration.applied').length, 0, 'nothing re-applied');
      } finally {
        await db.close();
      }
    },
  );
}
