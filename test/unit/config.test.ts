import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { parseJobOptions } from '../../src/config/job-options';
import { parseDuration } from '../../src/core/duration';
import { PreflightError } from '../../src/core/errors';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-config-'));
const load = (env: Record<string, string>, options: { cwd?: string } = {}) =>
  loadConfig({ env, cwd: options.cwd ?? cwd, stdoutIsTty: false });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    assert.ok(error instanceof PreflightError);
    assert.equal(error.exitCode, 78);
    return error.details;
  }
  assert.fail('expected a configuration error');
}

test('durations read as people write them; a bare number is seconds', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('6h'), 21_600_000);
  assert.equal(parseDuration('3d'), 259_200_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  assert.equal(parseDuration('3mo'), 7_776_000_000);
  assert.equal(parseDuration('1yr'), 31_536_000_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('soon'), undefined);
  assert.equal(parseDuration('-5s'), undefined);
});

test('defaults come from DESIGN: 60s wait, 5m lock, each, migrations table, any persistence', () => {
  const config = load({ DATABASE_URL: 'postgres://app:pw@db:5433/platform' });
  assert.deepEqual(config.postgres, {
    host: 'db',
    port: 5433,
    user: 'app',
    password: 'pw',
    database: 'platform',
    sslMode: 'prefer',
    targetSessionAttrs: 'any',
  });
  assert.equal(config.waitTimeoutMs, 60_000);
  assert.equal(config.lockTimeoutMs, 300_000);
  assert.equal(config.transactionMode, 'each');
  assert.equal(config.migrationsTable, 'migrations');
  assert.equal(config.schema, 'public');
  assert.equal(config.redisPersistence, 'any');
  assert.equal(config.logFormat, 'json');
  assert.equal(config.etcd, undefined);
  assert.equal(config.redis, undefined);
  assert.match(config.applicationName, /^preflight\//);
});

test('libpq variables work without DATABASE_URL, and DATABASE_URL wins when both are set', () => {
  const fromPg = load({ PGHOST: 'db', PGUSER: 'app', PGPASSWORD: 'pw', PGDATABASE: 'platform', PGSSLMODE: 'require' });
  assert.deepEqual(fromPg.postgres, {
    host: 'db',
    port: 5432,
    user: 'app',
    password: 'pw',
    database: 'platform',
    sslMode: 'require',
    targetSessionAttrs: 'any',
  });
  const both = load({ DATABASE_URL: 'postgres://u@url-host/db', PGHOST: 'pg-host', PGPASSWORD: 'from-env' });
  assert.equal(both.postgres.host, 'url-host');
  assert.equal(both.postgres.password, 'from-env');
});

test('every problem is listed at once as VAR: message', () => {
  const problems = problemsOf({
    DATABASE_URL: 'mysql://db/x',
    PREFLIGHT_WAIT_TIMEOUT: 'forever',
    PREFLIGHT_CREATE_DATABASE: 'maybe',
    PREFLIGHT_MIGRATIONS_TABLE: 'drop table;',
    PREFLIGHT_TYPO: '1',
    REDIS_URL: 'redis://r/abc',
    ETCD_USERNAME: 'root',
  });
  const variables = problems.map((problem) => problem.split(':')[0]).sort();
  assert.deepEqual(variables, [
    'DATABASE_URL',
    'ETCD_USERNAME',
    'PREFLIGHT_CREATE_DATABASE',
    'PREFLIGHT_MIGRATIONS_TABLE',
    'PREFLIGHT_TYPO',
    'PREFLIGHT_WAIT_TIMEOUT',
    'REDIS_URL',
  ]);
});

test('*_FILE secrets are read, trailing newline dropped; setting both forms is an error', () => {
  const secret = path.join(cwd, 'pgpass');
  fs.writeFileSync(secret, 'from-file\n');
  assert.equal(load({ PGHOST: 'db', PGPASSWORD_FILE: secret }).postgres.password, 'from-file');
  assert.deepEqual(problemsOf({ PGHOST: 'db', PGPASSWORD: 'x', PGPASSWORD_FILE: secret }), [
    'PGPASSWORD_FILE: set either PGPASSWORD or PGPASSWORD_FILE, not both',
  ]);
});

test('.env fills what the environment does not set, and never overrides it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-dotenv-'));
  fs.writeFileSync(path.join(dir, '.env'), 'PGHOST=from-dotenv\nPGDATABASE=dotenv-db\n');
  const config = load({ PGDATABASE: 'real-db' }, { cwd: dir });
  assert.equal(config.postgres.host, 'from-dotenv');
  assert.equal(config.postgres.database, 'real-db');
});

test('secrets from every store are collected for redaction', () => {
  const config = load({
    DATABASE_URL: 'postgres://u:pg-secret@db/x',
    ETCD_ENDPOINTS: 'http://etcd:2379',
    ETCD_USERNAME: 'root',
    ETCD_PASSWORD: 'etcd-secret',
    REDIS_URL: 'redis://:redis-secret@redis:6379/0',
  });
  assert.deepEqual(config.secrets.sort(), ['etcd-secret', 'pg-secret', 'redis-secret']);
});

test('a misspelt PREFLIGHT_* variable is named with the closest real one', () => {
  assert.deepEqual(problemsOf({ PGHOST: 'db', PREFLIGHT_MIGRATONS: 'dist/migrations' }), [
    'PREFLIGHT_MIGRATONS: unknown variable (did you mean PREFLIGHT_MIGRATIONS?)',
  ]);
  assert.deepEqual(problemsOf({ PGHOST: 'db', PREFLIGHT_SOMETHING_ELSE: '1' }), [
    'PREFLIGHT_SOMETHING_ELSE: unknown variable (check the spelling; see the README for the list)',
  ]);
});

test("own migrations get only what they ask for: the platform's fixtures, Redis check and baseline are off unless set", () => {
  const platform = load({ PGHOST: 'db' });
  assert.match(String(platform.fixturesDir), /fixtures\/etcd$/);
  assert.equal(platform.baseline, true);
  assert.equal(platform.redisPersistence, 'any');
  assert.equal(platform.customMigrations, false);
  const own = load({ PGHOST: 'db', PREFLIGHT_MIGRATIONS: 'dist/migrations' });
  assert.equal(own.fixturesDir, null);
  assert.equal(own.baseline, false);
  assert.equal(own.redisPersistence, 'off');
  assert.equal(own.customMigrations, true);
  const asked = load({
    PGHOST: 'db',
    PREFLIGHT_MIGRATIONS: 'dist/migrations',
    PREFLIGHT_FIXTURES: 'config/etcd',
    PREFLIGHT_BASELINE: 'true',
    PREFLIGHT_REDIS_PERSISTENCE: 'aof',
  });
  assert.equal(asked.fixturesDir, path.join(cwd, 'config/etcd'));
  assert.equal(asked.fixturesExplicit, true);
  assert.equal(asked.baseline, true);
  assert.equal(asked.redisPersistence, 'aof');
  assert.equal(load({ PGHOST: 'db', PREFLIGHT_FIXTURES: 'off' }).fixturesDir, null);
  assert.equal(load({ PGHOST: 'db', PREFLIGHT_DATASOURCE: 'dist/data-source.js' }).fixturesDir, null);
});

test('job options: every default, and each kind of rule refusing with its one-line reason', () => {
  const defaults = parseJobOptions({});
  assert.deepEqual(defaults.problems, []);
  assert.deepEqual(
    { ...defaults.options },
    {
      PREFLIGHT_WAIT_TIMEOUT: 60_000,
      PREFLIGHT_LOCK_TIMEOUT: 300_000,
      PREFLIGHT_CREATE_DATABASE: false,
      PREFLIGHT_TRANSACTION: 'each',
      PREFLIGHT_ALLOW_UNKNOWN: false,
      PREFLIGHT_ALLOW_OUT_OF_ORDER: false,
      PREFLIGHT_DDL_LOCK_TIMEOUT: 5000,
      PREFLIGHT_STATEMENT_TIMEOUT: 0,
      PREFLIGHT_DDL_RETRIES: 5,
      PREFLIGHT_MIGRATIONS: undefined,
      PREFLIGHT_MIGRATIONS_TABLE: 'migrations',
      PREFLIGHT_SCHEMA: 'public',
      PREFLIGHT_FIXTURES: undefined,
      PREFLIGHT_ALLOW_EMPTY: false,
      PREFLIGHT_DATASOURCE: undefined,
      PREFLIGHT_REDIS_PERSISTENCE: 'any',
      PREFLIGHT_BACKUP_DIR: undefined,
      PREFLIGHT_SECRETS_DIR: undefined,
      PREFLIGHT_ADMIN_USERNAME: 'admin',
      PREFLIGHT_ADMIN_EMAIL: 'admin@example.com',
      PREFLIGHT_BASELINE: true,
      PREFLIGHT_REPORT_FILE: undefined,
      LOG_LEVEL: 'info',
      LOG_FORMAT: undefined,
    },
  );
  const refused = (variable: string, value: string) =>
    parseJobOptions({ [variable]: value }).problems.map((problem) => `${problem.variable}: ${problem.message}`);
  assert.deepEqual(refused('PREFLIGHT_DDL_RETRIES', '1.5'), ['PREFLIGHT_DDL_RETRIES: must be a whole number']);
  assert.deepEqual(refused('PREFLIGHT_DDL_RETRIES', 'many'), ['PREFLIGHT_DDL_RETRIES: must be a whole number']);
  assert.deepEqual(refused('PREFLIGHT_DDL_RETRIES', '-1'), ['PREFLIGHT_DDL_RETRIES: must be 0 or more']);
  assert.deepEqual(refused('PREFLIGHT_DDL_RETRIES', '101'), ['PREFLIGHT_DDL_RETRIES: must be at most 100']);
  assert.deepEqual(refused('LOG_FORMAT', 'xml'), ['LOG_FORMAT: must be json or pretty']);
  assert.deepEqual(refused('PREFLIGHT_BASELINE', 'maybe'), ['PREFLIGHT_BASELINE: must be true or false']);
  assert.deepEqual(refused('PREFLIGHT_STATEMENT_TIMEOUT', 'later'), [
    'PREFLIGHT_STATEMENT_TIMEOUT: not a duration: "later" (use e.g. 30s, 5m, or off)',
  ]);
  assert.deepEqual(refused('PREFLIGHT_ADMIN_USERNAME', 'a b'), [
    'PREFLIGHT_ADMIN_USERNAME: must be 1-64 letters, digits, _ . -',
  ]);
  assert.equal(
    parseJobOptions({ PREFLIGHT_DDL_RETRIES: '0', PREFLIGHT_BASELINE: 'no' }).options?.PREFLIGHT_BASELINE,
    false,
  );
});
