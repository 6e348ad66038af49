import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { freshDatabase, preflightEnv, runCli } from '../support/context';
import { failureLines, migrationsDir, recordedMigrations } from './helpers';

const failureOf = (result: { lines: Array<Record<string, unknown>> }) => String(failureLines(result.lines)[0]?.message);
const createTable = (table: string) => ({ up: `await queryRunner.query('CREATE TABLE ${table} (id int)');` });

/** A compiled migration whose inline source map carries its TypeScript source, as `tsc --inlineSourceMap --inlineSources` writes it. */
function withSourceMap(compiled: string, source: string): string {
  const map = { version: 3, file: 'x.js', sources: ['x.ts'], sourcesContent: [source], mappings: '' };
  return `${compiled}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

test('the manifest is only a cache: a migration it does not list is pending for status and applied by run', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ First1800000000001: createTable('first') });
    const manifest = await runCli(['manifest', dir], {});
    assert.equal(manifest.code, 0, manifest.stderr);
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    fs.writeFileSync(
      path.join(dir, '1800000000002-Second.js'),
      `exports.Second1800000000002 = class Second1800000000002 { async up(q) { await q.query('CREATE TABLE second (id int)'); } async down() {} };\n`,
    );
    const status = await runCli(['status', '--json'], env);
    assert.equal(status.code, 3, status.stdout);
    assert.deepEqual(JSON.parse(status.stdout).pending, ['Second1800000000002']);
    const stale = status.lines.find((line) => line.event === 'manifest.stale');
    assert.deepEqual(stale?.files, ['1800000000002-Second.js']);
    assert.match(String(stale?.message), /rebuild \(or run preflight manifest /);
    assert.equal((await runCli(['run'], env)).code, 0);
    assert.deepEqual(await recordedMigrations(db), ['First1800000000001', 'Second1800000000002']);
    assert.equal((await runCli(['verify'], env)).code, 0);
  } finally {
    await db.close();
  }
});

test('an applied migration edited behind a stale manifest is detected; without its source the fix offered is repair --accept-checksum', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({ First1800000000001: createTable('first') });
    assert.equal((await runCli(['manifest', dir], {})).code, 0);
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    const file = path.join(dir, '1800000000001-First.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('(id int)', '(id bigint)'));
    for (const command of ['verify', 'run']) {
      const result = await runCli([command], env);
      assert.equal(result.code, 65, result.stdout);
    }
    const refused = await runCli(['run'], env);
    assert.match(
      failureOf(refused),
      /^migration First1800000000001 changed after it was applied \(checksum differs\): restore its original source and put the change in a new migration; if only the compiled output changed \(a new compiler or tsconfig target\), accept it with preflight repair --accept-checksum First1800000000001$/,
    );
  } finally {
    await db.close();
  }
});

test('with the source in a source map, a compiler change is no drift, an edit of the source is, and the advice fits', async () => {
  const db = await freshDatabase();
  try {
    const dir = migrationsDir({});
    const file = path.join(dir, '1800000000001-First.js');
    const source = `export class First1800000000001 { async up(q) { await q.query('CREATE TABLE first (id int)'); } async down() {} }\n`;
    const es2017 = `exports.First1800000000001 = class First1800000000001 { async up(q) { await q.query('CREATE TABLE first (id int)'); } async down() {} };\n`;
    fs.writeFileSync(file, withSourceMap(es2017, source));
    const env = { ...(await preflightEnv({ db })), PREFLIGHT_MIGRATIONS: dir };
    assert.equal((await runCli(['run'], env)).code, 0);
    const es5 = `"use strict";\nvar First1800000000001 = (function () { function First1800000000001() {} First1800000000001.prototype.up = function (q) { return q.query('CREATE TABLE first (id int)'); }; First1800000000001.prototype.down = function () { return Promise.resolve(); }; return First1800000000001; }());\nexports.First1800000000001 = First1800000000001;\n`;
    fs.writeFileSync(file, withSourceMap(es5, source));
    const verified = await runCli(['verify'], env);
    assert.equal(verified.code, 0, verified.stdout);
    fs.writeFileSync(file, withSourceMap(es5, source.replace('(id int)', '(id bigint)')));
    const refused = await runCli(['run'], env);
    assert.equal(refused.code, 65);
    assert.match(
      failureOf(refused),
      /^migration First1800000000001 changed after it was applied \(checksum differs\): restore its original source and put the change in a new migration$/,
    );
  } finally {
    await db.close();
  }
});
