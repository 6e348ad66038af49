import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { Client } from 'pg';
import type { PostgresSettings } from '../config';
import type { TargetSessionAttrs } from '../config/postgres-settings';
import { PreflightError, reasonOf } from '../core/errors';

/** One way to try one server: a host of the list with one of the TLS choices its sslmode allows. */
export interface Candidate {
  host: string;
  port: number;
  /** false: plain; otherwise node's TLS options */
  ssl: false | ConnectionOptions;
  /** `host:port`, `[::1]:port` or the socket path, for messages */
  label: string;
}

/** Every attempt libpq would make, in its order. */
export function candidates(settings: PostgresSettings): Candidate[] {
  const hosts = settings.hosts ?? [{ host: settings.host, port: settings.port }];
  return hosts.flatMap(({ host, port }) => {
    const label = host.startsWith('/')
      ? `${host}/.s.PGSQL.${port}`
      : host.includes(':')
        ? `[${host}]:${port}`
        : `${host}:${port}`;
    return tlsAttempts(settings, host).map((ssl) => ({ host, port, ssl, label }));
  });
}

/** libpq's sslmode: which TLS attempts, in which order; never TLS over a unix socket (libpq neither). */
function tlsAttempts(settings: PostgresSettings, host: string): Array<false | ConnectionOptions> {
  if (host.startsWith('/')) return [false];
  const encrypt = (): ConnectionOptions => ({ rejectUnauthorized: false, ...clientCertificate(settings) });
  switch (settings.sslMode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, encrypt()];
    case 'prefer':
      return [encrypt(), false];
    case 'require':
      // libpq: with a root certificate file present, require verifies the chain as verify-ca does.
      return [rootCertificate(settings, false) === undefined ? encrypt() : verifying(settings, false)];
    case 'verify-ca':
      return [verifying(settings, false)];
    case 'verify-full':
      return [verifying(settings, true)];
  }
}

function verifying(settings: PostgresSettings, checkHostname: boolean): ConnectionOptions {
  const ca = rootCertificate(settings, true);
  return {
    rejectUnauthorized: true,
    ...(ca === 'system' ? {} : { ca }),
    ...clientCertificate(settings),
    // verify-ca: the chain, not the name (libpq's meaning).
    ...(checkHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/** sslrootcert, else libpq's default ~/.postgresql/root.crt; `system` means the system's roots. */
function rootCertificate(settings: PostgresSettings, required: true): string | 'system';
function rootCertificate(settings: PostgresSettings, required: false): string | 'system' | undefined;
function rootCertificate(settings: PostgresSettings, required: boolean): string | undefined {
  if (settings.sslRootCert === 'system') return 'system';
  const file = settings.sslRootCert ?? join(homedir(), '.postgresql', 'root.crt');
  if (settings.sslRootCert === undefined && !existsSync(file)) {
    if (!required) return undefined;
    throw new PreflightError(
      'config',
      `sslmode=${settings.sslMode} needs the CA that signed the server's certificate: set sslrootcert (or PGSSLROOTCERT) to its PEM file, sslrootcert=system for public CAs, or ${file}`,
    );
  }
  return readPem(file, 'sslrootcert');
}

/** sslcert/sslkey, else libpq's defaults ~/.postgresql/postgresql.crt and .key when both exist. */
function clientCertificate(settings: PostgresSettings): ConnectionOptions {
  let { sslCert: cert, sslKey: key } = settings;
  if (cert === undefined && key === undefined) {
    const base = join(homedir(), '.postgresql', 'postgresql');
    if (!existsSync(`${base}.crt`) || !existsSync(`${base}.key`)) return {};
    [cert, key] = [`${base}.crt`, `${base}.key`];
  }
  if (cert === undefined || key === undefined) return {};
  return {
    cert: readPem(cert, 'sslcert'),
    key: readPem(key, 'sslkey'),
    ...(settings.sslPassword === undefined ? {} : { passphrase: settings.sslPassword }),
  };
}

function readPem(file: string, parameter: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new PreflightError('config', `${parameter} ${file} cannot be read: ${reasonOf(error)}`, { cause: error });
  }
}

/** undefined when the session is what target_session_attrs asks for; otherwise why not. */
export async function sessionMatches(client: Client, wanted: TargetSessionAttrs): Promise<string | undefined> {
  if (wanted === 'any' || wanted === 'prefer-standby') return undefined;
  const { rows } = await client.query<{ standby: boolean; read_only: string }>(
    "SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS read_only",
  );
  const { standby, read_only: readOnly } = rows[0];
  const ok =
    wanted === 'read-write'
      ? readOnly === 'off'
      : wanted === 'read-only'
        ? readOnly === 'on'
        : wanted === 'primary'
          ? !standby
          : standby;
  if (ok) return undefined;
  const state = standby ? 'a standby (in recovery)' : readOnly === 'on' ? 'read-only' : 'a read-write primary';
  return `server is ${state}, not what target_session_attrs=${wanted} asks for`;
}
