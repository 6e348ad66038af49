import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freshDatabase, preflightEnv, runCli, tempDir } from '../support/context';
import { generateMigrations, schemaSnapshot } from './generate-migrations';
import { recordedMigrations } from './helpers';

const typeormCli = require.resolve('typeorm/cli.js');

test(
  "several hundred migrations of another project (CommonJS and ESM) give exactly the schema TypeORM's CLI gives",
  { timeout: 300_000 },
  async () => {
    const [ours, theirs] = await Promise.all([freshDatabase(), freshDatabase()]);
    try {
      const dir = tempDir('preflight-byo-');
      const names = generateMigrations(dir, 300);

      const result = await runCli(
        ['run'],
        { ...(await preflightEnv({ db: ours })), PREFLIGHT_MIGRATIONS: dir },
        { timeoutMs: 240_000 },
      );
      assert.equal(result.code, 0, result.stdout.slice(-2000));
      assert.deepEqual(await recordedMigrations(ours), names);

      const dataSourceFile = path.join(tempDir('preflight-typeorm-'), 'data-source.js');
      fs.writeFileSync(
        dataSourceFile,
        `const { DataSource } = require(${JSON.stringify(require.resolve('typeorm'))});
module.exports = new DataSource({ type: 'postgres', url: ${JSON.stringify(theirs.url)}, migrations: [${JSON.stringify(`${dir}/*.{js,mjs}`)}], migrationsTransactionMode: 'each', logging: false });\n`,
      );
      await promisify(execFile)(process.execPath, [typeormCli, 'migration:run', '-d', dataSourceFile], {
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.deepEqual(await recordedMigrations(theirs), names, 'TypeORM orders and names them the same way');

      assert.deepEqual(await schemaSnapshot(ours.query), await schemaSnapshot(theirs.query));
      const rerun = await runCli(['run'], { ...(await preflightEnv({ db: theirs })), PREFLIGHT_MIGRATIONS: dir });
      assert.equal(rerun.code, 0);
      assert.equal(
        rerun.lines.filter((line) => line.event === 'migration.adopted').length,
        300,
        'the TypeORM-migrated database is adopted as is',
      );
    } finally {
      await Promise.all([ours.close(), theirs.close()]);
    }
  },
);
