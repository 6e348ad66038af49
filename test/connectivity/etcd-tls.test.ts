import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, tempDir } from '../support/context';
import { failureLines } from '../cli/helpers';
import { startEtcdServer } from '../support/etcd-server';
import { ServerProcess, startReaper } from '../support/server-process';
import { makeCertificates, type TestCertificates } from '../support/tls';
import { startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';

let pg: TlsPostgres;
let etcd: ServerProcess;
let certs: TestCertificates;
let endpoint: string;
let dir: string;
let reaper: ReturnType<typeof startReaper>;

/** etcd serving https only, requiring a client certificate signed by the test CA. */
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-tls-etcd-'));
  reaper = startReaper(dir);
  certs = makeCertificates(path.join(dir, 'certs'), 'etcd-client');
  const started = startEtcdServer({
    name: 'tls',
    dir,
    scheme: 'https',
    args: [
      `--cert-file=${certs.serverCert}`,
      `--key-file=${certs.serverKey}`,
      `--trusted-ca-file=${certs.ca}`,
      '--client-cert-auth',
    ],
    credentials: {
      rootCertificate: fs.readFileSync(certs.ca),
      certChain: fs.readFileSync(certs.clientCert),
      privateKey: fs.readFileSync(certs.clientKey),
    },
  });
  [pg, { server: etcd, endpoint }] = await Promise.all([startTlsPostgres(), started]);
});
after(async () => {
  await etcd?.stop();
  await pg?.stop();
  await fs.promises.rm(dir, { recursive: true, force: true });
  reaper?.stdin?.end();
});

async function env(extra: Record<string, string>): Promise<Record<string, string>> {
  const name = `etcd_${randomBytes(4).toString('hex')}`;
  await pg.sql(`CREATE DATABASE ${name}`);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tempDir('preflight-home-'),
    DATABASE_URL: `host=${pg.socketDir} port=${pg.port} user=postgres dbname=${name}`,
    LOG_FORMAT: 'json',
    PREFLIGHT_WAIT_TIMEOUT: '20s',
    ETCD_NAMESPACE: `/tls/${name}`,
    STORAGE_MOUNT: '/mnt/vfroot',
    ...extra,
  };
}

test('https etcd with CA and client certificate, a dead endpoint listed first: fixtures applied', async () => {
  const result = await runCli(
    ['run'],
    await env({
      ETCD_ENDPOINTS: `https://127.0.0.1:1,${endpoint}`,
      ETCD_CA_FILE: certs.ca,
      ETCD_CERT_FILE: certs.clientCert,
      ETCD_KEY_FILE: certs.clientKey,
    }),
  );
  assert.equal(result.code, 0, result.stdout);
  assert.ok(result.lines.some((line) => line.event === 'wait.ready' && line.store === 'etcd'));
  assert.ok(
    result.lines.some((line) => line.event === 'fixtures.file.applied'),
    'no fixture written over TLS',
  );
});

test('an http:// endpoint with ETCD_CA_FILE: 78 naming the variable', async () => {
  const result = await runCli(
    ['run'],
    await env({ ETCD_ENDPOINTS: `http://127.0.0.1:2379,${endpoint}`, ETCD_CA_FILE: certs.ca }),
  );
  assert.equal(result.code, 78);
  assert.match(
    String(failureLines(result.lines)[0]?.message),
    /ETCD_CA_FILE: is set but ETCD_ENDPOINTS has http:\/\/127\.0\.0\.1:2379: TLS needs https:\/\/ endpoints/,
  );
});

test('a server certificate that does not verify against ETCD_CA_FILE: 78 at once, naming the variable', async () => {
  const result = await runCli(
    ['run'],
    await env({
      ETCD_ENDPOINTS: endpoint,
      ETCD_CA_FILE: certs.otherCa,
      ETCD_CERT_FILE: certs.clientCert,
      ETCD_KEY_FILE: certs.clientKey,
    }),
  );
  assert.equal(result.code, 78, result.stdout);
  assert.match(
    String(failureLines(result.lines)[0]?.message),
    /^etcd at https:\/\/127\.0\.0\.1:\d+: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ did not verify \([A-Z_]+: .*\): set ETCD_CA_FILE to the CA that signed it/,
  );
  assert.ok(!result.lines.some((line) => line.event === 'wait.retry' && line.store === 'etcd'), 'it was retried');
});
