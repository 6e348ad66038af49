import { Client, type ClientConfig } from 'pg';
import type { PostgresSettings } from '../config';

/** node-postgres options for the settings; `database` overrides the target (e.g. `postgres` to create it). */
function clientConfig(
  settings: PostgresSettings,
  applicationName: string,
  database = settings.database,
  connectTimeoutMs = 5000,
): ClientConfig {
  return {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database,
    application_name: applicationName,
    connectionTimeoutMillis: Math.round(connectTimeoutMs),
    // issue 11: a silently dropped session (network cut, failover) is noticed instead of awaited forever
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ssl: settings.sslMode === 'disable' ? false : { rejectUnauthorized: settings.sslMode !== 'require' },
  };
}

/** A connected client; the caller ends it. */
export async function connect(
  settings: PostgresSettings,
  applicationName: string,
  database?: string,
  connectTimeoutMs = 5000,
): Promise<Client> {
  const client = new Client(clientConfig(settings, applicationName, database, connectTimeoutMs));
  // An idle connection that drops (server restart) must not crash the process with an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // The failed connection is already unusable; the connect error is the one worth reporting.
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** The server's version as a number, e.g. 150004 for 15.4. */
export async function serverVersionNumber(client: Client): Promise<number> {
  const result = await client.query<{ server_version_num: string }>('SHOW server_version_num');
  return Number(result.rows[0].server_version_num);
}

/** Creates the database; another instance creating it at the same moment is not an error. */
export async function createDatabase(settings: PostgresSettings, applicationName: string): Promise<boolean> {
  const admin = await connect(settings, applicationName, 'postgres');
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(settings.database)}`);
    return true;
  } catch (error) {
    if (sqlState(error) === '42P04') return false;
    throw error;
  } finally {
    await admin.end();
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
