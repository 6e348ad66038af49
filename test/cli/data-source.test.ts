import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { failureLines } from './helpers';

const typeorm = JSON.stringify(require.resolve('typeorm'));
const typeormCli = require.resolve('typeorm/cli.js');

/**
 * A compiled TypeORM project: an entity (decorators applied as tsc emits them), a snake_case naming
 * strategy, and migrations that create the table, save entities and backfill with a query builder.
 */
function writeProject(): string {
  const root = tempDir('preflight-project-');
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  write(
    'dist/entity/product.js',
    `const { Entity, PrimaryGeneratedColumn, Column } = require(${typeorm});
class Product {}
PrimaryGeneratedColumn()(Product.prototype, 'id');
Column('varchar')(Product.prototype, 'name');
Column('int')(Product.prototype, 'unitPrice');
Entity('product')(Product);
exports.Product = Product;
`,
  );
  write(
    'dist/snake-naming.js',
    `const { DefaultNamingStrategy } = require(${typeorm});
exports.SnakeNamingStrategy = class SnakeNamingStrategy extends DefaultNamingStrategy {
  columnName(propertyName, customName) { return customName ?? propertyName.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()); }
};
`,
  );
  write(
    'dist/migrations/1800000000001-CreateProduct.js',
    `exports.CreateProduct1800000000001 = class CreateProduct1800000000001 {
  async up(q) { await q.query('CREATE TABLE shop.product (id serial PRIMARY KEY, name varchar NOT NULL, unit_price int NOT NULL)'); }
  async down(q) { await q.query('DROP TABLE shop.product'); }
};
`,
  );
  write(
    'dist/migrations/1800000000002-SeedProducts.js',
    `const { Product } = require('../entity/product');
exports.SeedProducts1800000000002 = class SeedProducts1800000000002 {
  async up(queryRunner) {
    const widget = new Product();
    widget.name = 'widget';
    widget.unitPrice = 5;
    await queryRunner.manager.save(widget);
    await queryRunner.manager.save(Product, [{ name: 'gadget', unitPrice: 7 }, { name: 'gizmo', unitPrice: 11 }]);
  }
  async down(queryRunner) { await queryRunner.manager.delete(Product, {}); }
};
`,
  );
  write(
    'dist/migrations/1800000000003-BackfillPrices.js',
    `const { Product } = require('../entity/product');
exports.BackfillPrices1800000000003 = class BackfillPrices1800000000003 {
  async up(queryRunner) {
    await queryRunner.manager.createQueryBuilder().update(Product).set({ unitPrice: () => 'unit_price * 100' }).where('name <> :name', { name: 'gizmo' }).execute();
    const cheap = await queryRunner.manager.getRepository(Product).createQueryBuilder('p').where('p.unitPrice < :limit', { limit: 100 }).getMany();
    await queryRunner.query('CREATE TABLE shop.audit (cheap text)');
    await queryRunner.query('INSERT INTO shop.audit VALUES ($1)', [cheap.map((p) => p.name).join(',')]);
  }
  async down(q) { await q.query('DROP TABLE shop.audit'); }
};
`,
  );
  const options = `{
  type: 'postgres',
  url: process.env.APP_DATABASE_URL ?? 'postgres://nobody:unused@127.0.0.1:1/nowhere',
  schema: 'shop',
  entities: [Product],
  migrations: [__dirname + '/migrations/*.js'],
  migrationsTableName: 'app_migrations',
  migrationsTransactionMode: 'each',
  namingStrategy: new SnakeNamingStrategy(),
  extra: { max: 2 },
  logging: false,
}`;
  write(
    'dist/data-source.js',
    `const { DataSource } = require(${typeorm});
const { Product } = require('./entity/product');
const { SnakeNamingStrategy } = require('./snake-naming');
exports.AppDataSource = new DataSource(${options});
`,
  );
  write(
    'dist/data-source.mjs',
    `import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const __dirname = dirname(fileURLToPath(import.meta.url));
const { DataSource } = require(${typeorm});
const { Product } = require('./entity/product');
const { SnakeNamingStrategy } = require('./snake-naming');
export default new DataSource(${options});
`,
  );
  return root;
}

async function shopRows(db: { query(sql: string): Promise<Array<Record<string, unknown>>> }) {
  return {
    products: await db.query('SELECT id, name, unit_price FROM shop.product ORDER BY id'),
    audit: await db.query('SELECT cheap FROM shop.audit'),
    migrations: (await db.query('SELECT name FROM shop.app_migrations ORDER BY id')).map((row) => row.name),
  };
}

test("PREFLIGHT_DATASOURCE: migrations that save and query the project's entities run exactly as typeorm migration:run -d runs them", async () => {
  const [ours, esm, theirs] = await Promise.all([freshDatabase(), freshDatabase(), freshDatabase()]);
  try {
    const root = writeProject();
    for (const db of [ours, esm, theirs]) await db.query('CREATE SCHEMA shop');
    const env = await preflightEnv({ db: ours });
    const result = await runCli(['run'], { ...env, PREFLIGHT_DATASOURCE: 'dist/data-source.js' }, { cwd: root });
    assert.equal(result.code, 0, result.stdout.slice(-3000));
    const fromEsm = await runCli(
      ['run'],
      { ...(await preflightEnv({ db: esm })), PREFLIGHT_DATASOURCE: 'dist/data-source.mjs' },
      { cwd: root },
    );
    assert.equal(fromEsm.code, 0, fromEsm.stdout.slice(-3000));

    await promisify(execFile)(process.execPath, [typeormCli, 'migration:run', '-d', 'dist/data-source.js'], {
      cwd: root,
      env: { ...process.env, APP_DATABASE_URL: theirs.url },
    });
    const expected = await shopRows(theirs);
    assert.equal(expected.products.length, 3);
    assert.deepEqual(expected.audit, [{ cheap: 'gizmo' }]);
    assert.deepEqual(await shopRows(ours), expected);
    assert.deepEqual(await shopRows(esm), expected);
    const schemaOf = (db: typeof ours) =>
      db.query(`SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
                 WHERE table_schema = 'shop' AND table_name <> 'preflight_app_migrations' ORDER BY 1, 2`);
    assert.deepEqual(await schemaOf(ours), await schemaOf(theirs));
    const [ledger] = await ours.query('SELECT count(*)::int AS n FROM shop.preflight_app_migrations');
    assert.equal(ledger.n, 3, "preflight's ledger sits beside the project's migrations table");

    const again = await runCli(
      ['status', '--json'],
      { ...env, PREFLIGHT_DATASOURCE: 'dist/data-source.js' },
      { cwd: root },
    );
    assert.equal(again.code, 0, again.stdout);
    assert.equal(JSON.parse(again.stdout).applied.length, 3);
  } finally {
    await Promise.all([ours.close(), esm.close(), theirs.close()]);
  }
});

test('PREFLIGHT_DATASOURCE naming a file that exports no DataSource is a configuration error (78) naming it', async () => {
  const db = await freshDatabase();
  try {
    const root = tempDir('preflight-project-');
    fs.writeFileSync(path.join(root, 'data-source.js'), 'exports.options = { type: "postgres" };\n');
    const result = await runCli(
      ['run'],
      { ...(await preflightEnv({ db })), PREFLIGHT_DATASOURCE: 'data-source.js' },
      { cwd: root },
    );
    assert.equal(result.code, 78, result.stdout);
    assert.match(
      String(failureLines(result.lines)[0]?.message),
      /^PREFLIGHT_DATASOURCE: \S+data-source\.js exports no DataSource/,
    );
  } finally {
    await db.close();
  }
});
