/**
 * Sentinel passwords with the characters that break naive quoting and redaction (issue 11):
 * `"` `\` `%` `@` `:` `/` `$` and non-ASCII, given in DATABASE_URL (percent-encoded) or PGPASSWORD.
 * A run succeeds with them, and no output (log lines, failure lines, the report file) holds the
 * password raw, percent-encoded or JSON-escaped, on success and on failure.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { migrationsDir } from '../cli/helpers';
import { freshDatabase, runCli, tempDir, testStack, type CliResult } from '../support/context';

const passwords = [`pa"ss\\w%rd@:/$1-ü日本-${randomBytes(4).toString('hex')}`, `$ü:${randomBytes(2).toString('hex')}`];

function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

function assertNoLeak(text: string, secret: string, label: string): void {
  const leaked = forms(secret).filter((form) => text.includes(form));
  assert.deepEqual(leaked.length, 0, `${label}: the password appears (${leaked.length} forms)`);
}

for (const [index, password] of passwords.entries()) {
  test(`special password #${index + 1}: runs through DATABASE_URL and PGPASSWORD, and never appears in output or report`, async () => {
    const db = await freshDatabase();
    const role = `special_${randomBytes(5).toString('hex')}`;
    try {
      const escaped = password.replace(/'/g, "''");
      await db.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${escaped}'`);
      const { postgres } = await testStack();
      const url = `postgres://${role}:${encodeURIComponent(password)}@${postgres.host}:${postgres.port}/${db.name}`;
      const dir = tempDir('preflight-special-');
      const report = path.join(dir, 'report.json');
      const base = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        LOG_FORMAT: 'json',
        PREFLIGHT_WAIT_TIMEOUT: '3s',
        PREFLIGHT_REPORT_FILE: report,
        PREFLIGHT_MIGRATIONS: migrationsDir({
          One1700000000001: { up: `await queryRunner.query('CREATE TABLE one (id int)');` },
        }),
      };
      const check = (result: CliResult, label: string, code: number) => {
        assert.equal(result.code, code, `${label}: ${result.stdout}${result.stderr}`);
        assertNoLeak(result.stdout + result.stderr, password, label);
        if (fs.existsSync(report)) assertNoLeak(fs.readFileSync(report, 'utf8'), password, `${label} report`);
      };
      check(await runCli(['run'], { ...base, DATABASE_URL: url }), 'run via DATABASE_URL', 0);
      check(
        await runCli(['status'], {
          ...base,
          DATABASE_URL: `postgres://${role}@${postgres.host}:${postgres.port}/${db.name}`,
          PGPASSWORD: password,
        }),
        'status via PGPASSWORD',
        0,
      );
      check(
        await runCli(['run'], { ...base, DATABASE_URL: `${url.replace(`:${postgres.port}/`, ':1/')}` }),
        'unreachable',
        69,
      );
      check(await runCli(['run'], { ...base, DATABASE_URL: `${url}?sslmode=bogus` }), 'bad sslmode', 78);
      const failing = await runCli(['run'], {
        ...base,
        DATABASE_URL: url,
        PREFLIGHT_MIGRATIONS: migrationsDir({
          Echo1700000000002: { up: `throw new Error('cannot connect with ' + ${JSON.stringify(url)});` },
        }),
        PREFLIGHT_ALLOW_UNKNOWN: 'true',
      });
      check(failing, 'a migration failing with the URL in its error', 70);
    } finally {
      await db.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await db.close();
    }
  });
}
