import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { runCli, tempDir, type CliResult } from '../support/context';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';
import { failureLines } from '../cli/helpers';

let pg: TlsPostgres;
before(async () => {
  pg = await startTlsPostgres({ replica: true });
});
after(async () => pg?.stop());

async function database(owner: string): Promise<string> {
  const name = `conn_${randomBytes(5).toString('hex')}`;
  await pg.sql(`CREATE DATABASE ${name} OWNER ${owner}`);
  return name;
}

function env(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // No ~/.postgresql of the machine's: only what the test gives.
    HOME: tempDir('preflight-home-'),
    DATABASE_URL: url,
    LOG_FORMAT: 'json',
    PREFLIGHT_WAIT_TIMEOUT: '20s',
    ...extra,
  };
}

/** The one failure line, which must be the only one; no password anywhere in the output. */
function failureOf(result: CliResult): string {
  for (const secret of pg.sentinels)
    assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), 'password in output');
  const failures = failureLines(result.lines);
  assert.equal(failures.length, 1, result.stdout);
  return String(failures[0].message);
}

async function tablesIn(name: string): Promise<string[]> {
  const rows = await pg.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", name);
  return rows.map((row) => String(row.tablename));
}

const pw = () => encodeURIComponent(pg.password);

test('replica listed first, read-write, verify-full: every connection (TypeORM, lock, pg_dump) reaches the primary over TLS', async () => {
  const name = await database('app');
  const backups = tempDir('preflight-backups-');
  const url = `postgres://app:${pw()}@127.0.0.1:${pg.replicaPort},localhost:${pg.port}/${name}?sslmode=verify-full&sslrootcert=${pg.certs.ca}&target_session_attrs=read-write&application_name=conn-test`;
  const result = await runCli(['run'], env(url, { PREFLIGHT_BACKUP_DIR: backups }));
  assert.equal(result.code, 0, result.stdout + result.stderr);
  for (const secret of pg.sentinels) assert.ok(!result.stdout.includes(secret));
  assert.ok((await tablesIn(name)).includes('migrations'));
  assert.equal(fs.readdirSync(backups).length, 1, 'pg_dump wrote its backup');
  const again = await runCli(['run'], env(url));
  assert.equal(again.code, 0, again.stdout);
});

test('a CA that did not sign the server certificate: 78 at once, nothing written', async () => {
  const name = await database('app');
  const url = `postgres://app:${pw()}@127.0.0.1:${pg.port}/${name}?sslmode=verify-full&sslrootcert=${pg.certs.otherCa}`;
  const result = await runCli(['run'], env(url));
  assert.equal(result.code, 78, result.stdout);
  assert.match(failureOf(result), /TLS certificate did not verify .*set sslrootcert to the CA that signed it/);
  assert.deepEqual(await tablesIn(name), []);
});

test('verify-full without any root certificate: 78 naming sslrootcert', async () => {
  const name = await database('app');
  const result = await runCli(['run'], env(`postgres://app:${pw()}@127.0.0.1:${pg.port}/${name}?sslmode=verify-full`));
  assert.equal(result.code, 78, result.stdout);
  assert.match(failureOf(result), /sslmode=verify-full needs the CA .*set sslrootcert/);
});

test('a scram-sha-256 role without a password: 78 at once, not 60 s of SASL retries', async () => {
  const name = await database('nopass');
  const result = await runCli(['run'], env(`postgres://nopass@[::1]:${pg.port}/${name}?sslmode=require`));
  assert.equal(result.code, 78, result.stdout);
  assert.match(
    failureOf(result),
    /requires a password for role nopass and none was given: put it in DATABASE_URL, PGPASSWORD/,
  );
  assert.ok(!result.lines.some((line) => line.event === 'wait.retry'), 'retried');
});

test('a role without CREATE on public: 77 naming the GRANT, nothing written; after the GRANT it runs', async () => {
  const name = await database('postgres');
  const url = `postgres://limited:${pw()}@127.0.0.1:${pg.port}/${name}?sslmode=verify-ca&sslrootcert=${pg.certs.ca}`;
  const result = await runCli(['run'], env(url));
  assert.equal(result.code, 77, result.stdout);
  assert.match(
    failureOf(result),
    /role limited lacks CREATE on schema public .*GRANT CREATE ON SCHEMA "public" TO "limited"/,
  );
  assert.deepEqual(await tablesIn(name), []);
  await pg.sql('GRANT CREATE ON SCHEMA public TO limited', name);
  const granted = await runCli(['run'], env(url));
  assert.equal(granted.code, 0, granted.stdout);
});

test('PREFLIGHT_CREATE_DATABASE for a role without CREATEDB: 77 with ALTER ROLE ... CREATEDB', async () => {
  const result = await runCli(
    ['run'],
    env(`postgres://app:${pw()}@127.0.0.1:${pg.port}/never_created?sslmode=prefer`, {
      PREFLIGHT_CREATE_DATABASE: 'true',
    }),
  );
  assert.equal(result.code, 77, result.stdout);
  assert.match(failureOf(result), /role app may not create database never_created .*ALTER ROLE "app" CREATEDB/);
});

test('PG* variables alone, unix socket, keyword=value: the same job', async () => {
  const name = await database('postgres');
  const result = await runCli(['run'], {
    ...env(`host=${pg.socketDir} dbname=${name}`),
    PGPORT: String(pg.port),
    PGUSER: 'postgres',
  });
  assert.equal(result.code, 0, result.stdout);
});
