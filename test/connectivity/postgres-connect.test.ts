import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from 'pg';
import { loadConfig, type PostgresSettings } from '../../src/config';
import { connect, postgresClientConfig } from '../../src/postgres/connection';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';

let pg: TlsPostgres;
before(async () => {
  pg = await startTlsPostgres({ replica: true });
});
after(async () => pg?.stop());

const settingsOf = (url: string): PostgresSettings =>
  loadConfig({ env: { DATABASE_URL: url }, cwd: pg.dir, stdoutIsTty: false }).postgres;
const pw = () => encodeURIComponent(pg.password);

async function session(url: string): Promise<Record<string, unknown>> {
  const client: Client = await connect(settingsOf(url), 'preflight-test');
  try {
    const { rows } = await client.query(
      `SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl,
              pg_is_in_recovery() AS standby, current_setting('search_path') AS search_path,
              current_setting('application_name') AS app, current_user AS role, inet_server_port() AS port`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

test('verify-full with sslrootcert over 127.0.0.1: TLS, scram-sha-256 role', async () => {
  const row = await session(
    `postgres://app:${pw()}@127.0.0.1:${pg.port}/postgres?sslmode=verify-full&sslrootcert=${pg.certs.ca}`,
  );
  assert.equal(row.ssl, true);
  assert.equal(row.role, 'app');
});

test('IPv6 literal: verify-ca checks the chain only, verify-full also the name (::1 is not in the certificate)', async () => {
  const url = (mode: string) =>
    `postgres://app:${pw()}@[::1]:${pg.port}/postgres?sslmode=${mode}&sslrootcert=${pg.certs.ca}`;
  assert.equal((await session(url('verify-ca'))).ssl, true);
  await assert.rejects(
    session(url('verify-full')),
    (error: NodeJS.ErrnoException) => error.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
  );
});

test('a CA that did not sign the server certificate fails verification; require does not verify', async () => {
  const base = `postgres://app:${pw()}@127.0.0.1:${pg.port}/postgres`;
  await assert.rejects(
    session(`${base}?sslmode=verify-full&sslrootcert=${pg.certs.otherCa}`),
    (error: NodeJS.ErrnoException) => /CERT|SIGNATURE|ISSUER/.test(String(error.code)),
  );
  assert.equal((await session(`${base}?sslmode=require`)).ssl, true);
});

test('prefer tries TLS first, allow plain first; a unix socket never uses TLS', async () => {
  const base = `postgres://app:${pw()}@127.0.0.1:${pg.port}/postgres`;
  assert.equal((await session(`${base}?sslmode=prefer`)).ssl, true);
  assert.equal((await session(`${base}?sslmode=allow`)).ssl, false);
  const socket = encodeURIComponent(pg.socketDir);
  assert.equal((await session(`postgres://postgres@${socket}:${pg.port}/postgres?sslmode=require`)).ssl, false);
  assert.equal((await session(`host=${pg.socketDir} port=${pg.port} user=postgres dbname=postgres`)).role, 'postgres');
});

test('client certificate authentication with sslcert and sslkey', async () => {
  const row = await session(
    `host=localhost port=${pg.port} user=certuser dbname=postgres sslmode=verify-full sslrootcert=${pg.certs.ca} sslcert=${pg.certs.clientCert} sslkey=${pg.certs.clientKey}`,
  );
  assert.equal(row.role, 'certuser');
  assert.equal(row.ssl, true);
});

test('options and application_name reach the session', async () => {
  const row = await session(
    `postgres://app:${pw()}@127.0.0.1:${pg.port}/postgres?options=${encodeURIComponent('-c search_path=app,public')}&application_name=mine`,
  );
  assert.equal(row.search_path, 'app,public');
  assert.equal(row.app, 'preflight-test');
});

test('multi-host, replica listed first: read-write and primary land on the primary, any on the first host', async () => {
  const hosts = `127.0.0.1:${pg.replicaPort},127.0.0.1:${pg.port}`;
  const url = (attrs: string) => `postgres://app:${pw()}@${hosts}/postgres?target_session_attrs=${attrs}`;
  for (const attrs of ['read-write', 'primary']) {
    const row = await session(url(attrs));
    assert.equal(row.standby, false, attrs);
    assert.equal(row.port, pg.port);
  }
  assert.equal((await session(url('any'))).port, pg.replicaPort);
  assert.equal((await session(url('standby'))).standby, true);
  // TypeORM's pool gets the host libpq would choose.
  assert.equal((await postgresClientConfig(settingsOf(url('read-write')), 'x')).port, pg.port);
});

test('a dead first host is skipped', async () => {
  const row = await session(`postgres://app:${pw()}@127.0.0.1:1,127.0.0.1:${pg.port}/postgres`);
  assert.equal(row.port, pg.port);
});
