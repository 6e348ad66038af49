import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from 'pg';
import { loadConfig, type PostgresSettings } from '../../src/config';
import { connect, serverVersionNumber } from '../../src/postgres/connection';
import { freshDatabase, preflightEnv, runCli, tempDir, testStack } from '../support/context';
import { startTcpProxy } from '../support/tcp-proxy';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';
import { migrationsDir } from '../cli/helpers';

/** PostgreSQL's SSLRequest code (the second Int32 of the 8-byte message). */
const sslRequestCode = 80877103;

/**
 * A TCP proxy (test/support/tcp-proxy.ts) that tells a connection that carried a session from one
 * that only asked for TLS and was dropped (the wasted second connection of issue 15).
 */
async function watchingProxy(targetPort: number) {
  const proxy = await startTcpProxy('127.0.0.1', targetPort);
  const startedWithSslRequest = (sent: Buffer) => sent.length >= 8 && sent.readInt32BE(4) === sslRequestCode;
  return {
    port: proxy.port,
    /** waits until every client connection closed, then sorts them */
    async settled() {
      const connections = proxy.connections;
      await Promise.all(connections.map(({ closed }) => closed));
      return {
        total: connections.length,
        sslRequestOnly: connections.filter(({ sent }) => startedWithSslRequest(sent) && sent.length === 8).length,
        askedTls: connections.filter(({ sent }) => startedWithSslRequest(sent)).length,
      };
    },
    close: () => proxy.close(),
  };
}

let tlsPg: TlsPostgres;
before(async () => {
  tlsPg = await startTlsPostgres();
});
after(async () => tlsPg?.stop());

const settingsOf = (url: string): PostgresSettings =>
  loadConfig({ env: { DATABASE_URL: url }, cwd: tempDir(), stdoutIsTty: false }).postgres;

async function sslOf(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ ssl: boolean }>(
    'SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS ssl',
  );
  return rows[0].ssl;
}

/** Connects with sslmode=prefer through a watching proxy: one connection, which asked for TLS; whether it is encrypted. */
async function preferThroughProxy(port: number, user: string, password: string): Promise<boolean> {
  const proxy = await watchingProxy(port);
  try {
    const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${proxy.port}/postgres?sslmode=prefer`;
    const client = await connect(settingsOf(url), 'preflight-test');
    const encrypted = await sslOf(client);
    await client.end();
    assert.deepEqual(await proxy.settled(), { total: 1, sslRequestOnly: 0, askedTls: 1 });
    return encrypted;
  } finally {
    await proxy.close();
  }
}

test('sslmode=prefer against a server without TLS: one connection, asked for TLS, then plain on that socket', async () => {
  const { postgres } = await testStack();
  assert.equal(await preferThroughProxy(postgres.port, postgres.user, postgres.password), false);
});

test('sslmode=prefer against a server with TLS: one connection, and it is encrypted', async () => {
  assert.equal(await preferThroughProxy(tlsPg.port, 'app', tlsPg.password), true);
});

test('preflight run (sslmode=prefer by default) against a server without TLS opens no connection it drops', async () => {
  const { postgres } = await testStack();
  const proxy = await watchingProxy(postgres.port);
  const db = await freshDatabase();
  try {
    const env = {
      ...(await preflightEnv({ db })),
      DATABASE_URL: db.url.replace(`:${postgres.port}/`, `:${proxy.port}/`),
      PREFLIGHT_MIGRATIONS: migrationsDir({ First1800000000001: { up: 'await queryRunner.query("SELECT 1")' } }),
    };
    assert.notEqual(env.DATABASE_URL, db.url);
    for (const run of ['applies', 'no-op']) {
      const result = await runCli(['run'], env);
      assert.equal(result.code, 0, run + result.stdout + result.stderr);
    }
    const seen = await proxy.settled();
    assert.ok(seen.total >= 2, `${seen.total} connections`);
    assert.equal(seen.sslRequestOnly, 0);
  } finally {
    await proxy.close();
    await db.close();
  }
});

test('the server version comes from the session start, without a query', async () => {
  const { postgres } = await testStack();
  const password = encodeURIComponent(postgres.password);
  const client = await connect(
    settingsOf(`postgres://${postgres.user}:${password}@127.0.0.1:${postgres.port}/postgres`),
    'preflight-test',
  );
  try {
    const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    const query = client.query.bind(client);
    let queries = 0;
    client.query = ((...args: Parameters<typeof query>) => {
      queries += 1;
      return query(...args);
    }) as typeof client.query;
    assert.equal(await serverVersionNumber(client), Number(rows[0].server_version_num));
    assert.equal(queries, 0);
  } finally {
    await client.end();
  }
});

test('a client key protected by sslpassword, over the negotiated TLS', async () => {
  const encryptedKey = path.join(tempDir(), 'client-encrypted.key');
  execFileSync('openssl', [
    'pkey',
    '-in',
    tlsPg.certs.clientKey,
    '-aes256',
    '-passout',
    'pass:keyPass-7',
    '-out',
    encryptedKey,
  ]);
  for (const mode of ['prefer', 'verify-full']) {
    const client = await connect(
      settingsOf(
        `host=localhost port=${tlsPg.port} user=certuser dbname=postgres sslmode=${mode} sslrootcert=${tlsPg.certs.ca} sslcert=${tlsPg.certs.clientCert} sslkey=${encryptedKey} sslpassword=keyPass-7`,
      ),
      'preflight-test',
    );
    try {
      assert.equal(await sslOf(client), true, mode);
      assert.equal((await client.query('SELECT current_user AS role')).rows[0].role, 'certuser', mode);
    } finally {
      await client.end();
    }
  }
});

test('connect_timeout bounds a server that never answers the TLS request', async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const sockets: net.Socket[] = [];
  silent.on('connection', (socket) => sockets.push(socket));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    await assert.rejects(
      connect(settingsOf(`host=127.0.0.1 port=${port} user=x dbname=x sslmode=prefer connect_timeout=2`), 'x'),
      /timeout expired/,
    );
    // no second attempt without TLS: libpq gives up on a host that did not answer
    assert.equal(sockets.length, 1);
  } finally {
    sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});
