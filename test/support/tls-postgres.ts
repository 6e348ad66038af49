/**
 * A private PostgreSQL for the connectivity tests: TLS on (server certificate from tls.ts, client
 * certificates checked against its CA), listening on 127.0.0.1, ::1 and a socket directory, a
 * scram-sha-256 role, a certificate-only role, and optionally a streaming replica made with
 * pg_basebackup. Only the test files that need it start it; the shared stack stays plain and fast.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { nobody, postgresBinDir } from './binaries';
import { freePorts, ServerProcess, startReaper } from './server-process';
import { runToCompletion } from './stack';
import { makeCertificates, type TestCertificates } from './tls';

export interface TlsPostgres {
  dir: string;
  certs: TestCertificates;
  port: number;
  socketDir: string;
  /** a streaming standby of the primary, when asked for */
  replicaPort?: number;
  /** superuser `postgres` and role `app` (scram-sha-256, password below); `certuser` logs in by certificate only; `nopass` has a password but none is given */
  password: string;
  /** every password here: none may ever appear in output */
  sentinels: string[];
  /** runs SQL as the superuser over the socket (trust) */
  sql(statement: string, database?: string): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export async function startTlsPostgres(options: { replica?: boolean } = {}): Promise<TlsPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-tls-pg-'));
  fs.chmodSync(dir, 0o755);
  const reaper = startReaper(dir);
  const user = process.getuid?.() === 0 ? nobody() : undefined;
  const certs = makeCertificates(path.join(dir, 'certs'), 'certuser');
  const [port, replicaPort] = await freePorts(2);
  const password = `pgTlsSentinel-${randomBytes(8).toString('hex')}`;
  const bin = postgresBinDir();
  const own = (target: string) => user && fs.chownSync(target, user.uid, user.gid);

  const serverFiles = path.join(dir, 'server-tls');
  fs.mkdirSync(serverFiles);
  own(serverFiles);
  for (const [from, to] of [
    [certs.serverCert, 'server.crt'],
    [certs.serverKey, 'server.key'],
    [certs.ca, 'ca.crt'],
  ]) {
    fs.copyFileSync(from, path.join(serverFiles, to));
    fs.chmodSync(path.join(serverFiles, to), to.endsWith('.key') ? 0o600 : 0o644);
    own(path.join(serverFiles, to));
  }
  const node = (name: string, nodePort: number, listen: string, prepare: () => Promise<void>) => {
    const nodeDir = path.join(dir, name);
    const socketDir = path.join(nodeDir, 'sock');
    fs.mkdirSync(socketDir, { recursive: true });
    own(nodeDir);
    own(socketDir);
    const probe = async () => {
      const client = new Client({ host: socketDir, port: nodePort, user: 'postgres', database: 'postgres' });
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end();
      }
    };
    const logPath = path.join(dir, `${name}.log`);
    return {
      socketDir,
      server: new ServerProcess({
        name,
        command: path.join(bin, 'postgres'),
        args: [
          '-D',
          path.join(nodeDir, 'data'),
          '-p',
          String(nodePort),
          '-c',
          `listen_addresses=${listen}`,
          '-c',
          `unix_socket_directories=${socketDir}`,
          '-c',
          'ssl=on',
          '-c',
          `ssl_cert_file=${path.join(serverFiles, 'server.crt')}`,
          '-c',
          `ssl_key_file=${path.join(serverFiles, 'server.key')}`,
          '-c',
          `ssl_ca_file=${path.join(serverFiles, 'ca.crt')}`,
          '-c',
          'fsync=off',
        ],
        stopSignal: 'SIGINT',
        cwd: nodeDir,
        logPath,
        user,
        prepare,
        probe,
      }),
      logPath,
      dataDir: path.join(nodeDir, 'data'),
      nodeDir,
    };
  };

  const primary = node('primary', port, '127.0.0.1,::1', async () => {
    const pwfile = path.join(primary.nodeDir, 'pwfile');
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    own(pwfile);
    await runToCompletion(
      path.join(bin, 'initdb'),
      [
        '-D',
        primary.dataDir,
        '-U',
        'postgres',
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      { cwd: primary.nodeDir, logPath: primary.logPath, user },
    );
    fs.rmSync(pwfile);
    fs.writeFileSync(
      path.join(primary.dataDir, 'pg_hba.conf'),
      [
        'local all all trust',
        'local replication all trust',
        'hostssl all certuser all cert',
        'host all all 127.0.0.1/32 scram-sha-256',
        'host all all ::1/128 scram-sha-256',
        '',
      ].join('\n'),
    );
  });
  const servers: ServerProcess[] = [];
  const stop = async () => {
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 5 });
    reaper.stdin?.end();
  };
  const sql = async (statement: string, database = 'postgres') => {
    const client = new Client({ host: primary.socketDir, port, user: 'postgres', database });
    await client.connect();
    try {
      return (await client.query(statement)).rows;
    } finally {
      await client.end();
    }
  };
  try {
    servers.push(primary.server);
    await primary.server.start();
    await sql(`CREATE ROLE app LOGIN PASSWORD '${password}'`);
    await sql(`CREATE ROLE nopass LOGIN PASSWORD '${password}'`);
    await sql('CREATE ROLE certuser LOGIN');
    await sql('CREATE ROLE limited LOGIN');
    await sql(`ALTER ROLE limited PASSWORD '${password}'`);
    let replica: ReturnType<typeof node> | undefined;
    if (options.replica) {
      replica = node('replica', replicaPort, '127.0.0.1', async () => {
        await runToCompletion(
          path.join(bin, 'pg_basebackup'),
          [
            '-h',
            primary.socketDir,
            '-p',
            String(port),
            '-U',
            'postgres',
            '-D',
            replica!.dataDir,
            '-R',
            '-X',
            'stream',
            '--no-sync',
          ],
          { cwd: replica!.nodeDir, logPath: replica!.logPath, user },
        );
      });
      servers.push(replica.server);
      await replica.server.start();
    }
    return {
      dir,
      certs,
      port,
      socketDir: primary.socketDir,
      replicaPort: replica ? replicaPort : undefined,
      password,
      sentinels: [password],
      sql,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
