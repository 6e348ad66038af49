import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { PreflightError } from '../../src/core/errors';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-settings-'));
const load = (env: Record<string, string>) => loadConfig({ env, cwd, stdoutIsTty: false }).postgres;

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

test('IPv6 literals lose their brackets; libpq defaults: sslmode prefer, port 5432, database = user', () => {
  const settings = load({ DATABASE_URL: 'postgres://app@[::1]/' });
  assert.equal(settings.host, '::1');
  assert.equal(settings.port, 5432);
  assert.equal(settings.database, 'app');
  assert.equal(settings.sslMode, 'prefer');
  assert.equal(settings.targetSessionAttrs, 'any');
});

test('multi-host URLs keep every host with its own port, in order', () => {
  const settings = load({
    DATABASE_URL: 'postgresql://u:p%40ss@h1:5433,[::1]:5434,h3/db?target_session_attrs=read-write',
  });
  assert.deepEqual(settings.hosts, [
    { host: 'h1', port: 5433 },
    { host: '::1', port: 5434 },
    { host: 'h3', port: 5432 },
  ]);
  assert.equal(settings.password, 'p@ss');
  assert.equal(settings.database, 'db');
  assert.equal(settings.targetSessionAttrs, 'read-write');
});

test('unix sockets: host=/dir in the query, a %2F host, or PGHOST=/dir', () => {
  assert.equal(load({ DATABASE_URL: 'postgres://u@/db?host=/var/run/postgresql' }).host, '/var/run/postgresql');
  assert.equal(load({ DATABASE_URL: 'postgres://u@%2Ftmp%2Fpg/db' }).host, '/tmp/pg');
  assert.equal(load({ PGHOST: '/tmp/sockets', PGPORT: '6000' }).port, 6000);
});

test("keyword=value form with quoting, as libpq's conninfo", () => {
  const settings = load({
    DATABASE_URL:
      "host=h1,h2 port=5432,5433 user=app password='it\\'s x' dbname = platform options='-c search_path=app' connect_timeout=3 application_name=job",
  });
  assert.deepEqual(settings.hosts, [
    { host: 'h1', port: 5432 },
    { host: 'h2', port: 5433 },
  ]);
  assert.equal(settings.options, '-c search_path=app');
  assert.equal(settings.connectTimeoutSeconds, 3);
  assert.equal(settings.applicationName, 'job');
  assert.equal(settings.database, 'platform');
});

test('PG* variables are the defaults for what the connection string leaves out', () => {
  const settings = load({
    DATABASE_URL: 'postgres://u@db/app?sslmode=verify-full',
    PGSSLMODE: 'disable',
    PGSSLROOTCERT: 'system',
    PGAPPNAME: 'from-env',
    PGOPTIONS: '-c statement_timeout=0',
    PGCONNECT_TIMEOUT: '7',
    PGTARGETSESSIONATTRS: 'primary',
  });
  assert.equal(settings.sslMode, 'verify-full');
  assert.equal(settings.sslRootCert, 'system');
  assert.equal(settings.applicationName, 'from-env');
  assert.equal(settings.options, '-c statement_timeout=0');
  assert.equal(settings.connectTimeoutSeconds, 7);
  assert.equal(settings.targetSessionAttrs, 'primary');
  const config = loadConfig({
    env: { DATABASE_URL: 'postgres://u@db/app?application_name=mine' },
    cwd,
    stdoutIsTty: false,
  });
  assert.equal(config.applicationName, 'mine');
});

test('unknown parameters, unreadable certificate files and mismatched lists are configuration errors naming them', () => {
  assert.deepEqual(problemsOf({ DATABASE_URL: 'postgres://u@db/app?sslmdoe=require' }).length, 1);
  assert.match(problemsOf({ DATABASE_URL: 'postgres://u@db/app?sslmdoe=require' })[0], /unknown parameter "sslmdoe"/);
  assert.match(problemsOf({ DATABASE_URL: 'host=db bogus=1' })[0], /unknown parameter "bogus"/);
  assert.match(problemsOf({ DATABASE_URL: 'postgres://u@db/app?ssl=true' })[0], /"ssl" is not libpq's/);
  assert.match(
    problemsOf({ DATABASE_URL: 'postgres://u@db/app?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem' })[0],
    /DATABASE_URL: sslrootcert \/nonexistent\/ca.pem cannot be read \(ENOENT\)/,
  );
  assert.match(problemsOf({ PGHOST: 'a,b,c', PGPORT: '1,2' })[0], /PGPORT: 2 ports for 3 hosts/);
  assert.match(
    problemsOf({ DATABASE_URL: 'postgres://u@db/app?target_session_attrs=primary-ish' })[0],
    /target_session_attrs must be one of any, read-write/,
  );
  assert.match(problemsOf({ DATABASE_URL: 'host=db dbname' })[0], /missing "=" after "dbname"/);
  assert.match(problemsOf({ DATABASE_URL: 'mysql://db/x' })[0], /scheme must be postgres:\/\//);
});

test('sslpassword counts as a secret for the logger', () => {
  const config = loadConfig({
    env: { DATABASE_URL: 'postgres://u:pw@db/app?sslpassword=keyPass123' },
    cwd,
    stdoutIsTty: false,
  });
  assert.ok(config.secrets.includes('keyPass123'));
});
