import { Client, type ClientConfig } from 'pg';
import type { PostgresSettings } from '../config';
import type { TargetSessionAttrs } from '../config/postgres-settings';
import { candidates, sessionMatches, type Candidate } from './libpq';
import { negotiateTls } from './tls-negotiation';

/** node-postgres options for one candidate (host, port and TLS settings chosen the libpq way). */
function clientConfig(
  settings: PostgresSettings,
  candidate: Candidate,
  applicationName: string,
  database: string,
  connectTimeoutMs: number,
): ClientConfig {
  return {
    host: candidate.host,
    port: candidate.port,
    user: settings.user,
    password: settings.password,
    database,
    application_name: applicationName,
    options: settings.options,
    connectionTimeoutMillis: Math.round(connectTimeoutMs),
    // issue 11: a silently dropped session (network cut, failover) is noticed instead of awaited forever
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ssl: candidate.ssl,
  };
}

/** libpq's connect_timeout (at least 2 s; 0 means none) bounded by what the caller allows. */
function perAttemptTimeout(settings: PostgresSettings, callerMs: number): number {
  const seconds = settings.connectTimeoutSeconds;
  if (seconds === undefined || seconds === 0) return callerMs;
  return Math.min(Math.max(seconds, 2) * 1000, callerMs);
}

/** Why no host of the list would do: every attempt's reason, the first server error's SQLSTATE as `code`. */
class NoSuitableServerError extends Error {
  readonly code?: string;
  constructor(readonly attempts: Array<{ where: string; error: unknown }>) {
    super(
      attempts
        .map(({ where, error }) => `${where}: ${error instanceof Error ? error.message : String(error)}`)
        .join('; '),
    );
    this.name = 'NoSuitableServerError';
    const answered = attempts.map(({ error }) => (error as { code?: unknown }).code).find(isSqlState);
    const last = (attempts.at(-1)?.error as { code?: unknown } | undefined)?.code;
    this.code = answered ?? (typeof last === 'string' ? last : undefined);
  }
}

/**
 * A connected client, found as libpq finds one: each host of the list in order, each with the TLS
 * attempts its sslmode allows (prefer: TLS then plain; allow: plain then TLS), keeping the first
 * whose session matches target_session_attrs. The caller ends it.
 */
export async function connect(
  settings: PostgresSettings,
  applicationName: string,
  database = settings.database,
  connectTimeoutMs = 5000,
): Promise<Client> {
  return (await connectResolved(settings, applicationName, database, connectTimeoutMs)).client;
}

async function connectResolved(
  settings: PostgresSettings,
  applicationName: string,
  database: string,
  connectTimeoutMs: number,
): Promise<{ client: Client; config: ClientConfig }> {
  const attempts: Array<{ where: string; error: unknown }> = [];
  const timeout = perAttemptTimeout(settings, connectTimeoutMs);
  const attrs = settings.targetSessionAttrs ?? 'any';
  const passes: TargetSessionAttrs[] = attrs === 'prefer-standby' ? ['standby', 'any'] : [attrs];
  for (const wanted of passes) {
    const unreachable = new Set<string>();
    // prefer: a server that refused TLS was tried plain on the same socket (libpq's way), not again
    const triedPlain = new Set<string>();
    for (const candidate of candidates(settings)) {
      if (unreachable.has(candidate.label)) continue;
      if (candidate.ssl === false && triedPlain.has(candidate.label)) continue;
      let config = clientConfig(settings, candidate, applicationName, database, timeout);
      let client: Client;
      try {
        ({ client, config } = await connectOne(config, candidate, settings.sslMode === 'prefer', () =>
          triedPlain.add(candidate.label),
        ));
      } catch (error) {
        // One reason per host: the last attempt's (libpq's prefer/allow fallback is expected, not news).
        const earlier = attempts.findIndex(({ where }) => where === candidate.label);
        if (earlier >= 0) attempts.splice(earlier, 1);
        attempts.push({ where: candidate.label, error });
        // A host that did not answer at all gets no second TLS attempt (libpq neither).
        if (sqlState(error) === undefined && !isTlsOutcome(error)) unreachable.add(candidate.label);
        continue;
      }
      const mismatch = await sessionMatches(client, wanted).catch((error: unknown) => reasonOfError(error));
      if (mismatch === undefined) return { client, config };
      await client.end().catch(() => undefined);
      attempts.push({ where: candidate.label, error: new Error(mismatch) });
    }
  }
  if (attempts.length === 1) throw attempts[0].error;
  throw new NoSuitableServerError(attempts);
}

/**
 * One attempt. TLS is negotiated here, on the connection node-postgres then uses (it would open a
 * second one for prefer's plain fallback); the config returned is what reached the server.
 */
async function connectOne(
  config: ClientConfig,
  candidate: Candidate,
  plainIfRefused: boolean,
  onPlain: () => void,
): Promise<{ client: Client; config: ClientConfig }> {
  let options = config;
  if (candidate.ssl !== false) {
    const started = performance.now();
    const timeoutMs = config.connectionTimeoutMillis ?? 0;
    const { socket, encrypted } = await negotiateTls({
      host: candidate.host,
      port: candidate.port,
      tls: candidate.ssl,
      plainIfRefused,
      timeoutMs,
      keepAliveInitialDelayMs: config.keepAliveInitialDelayMillis ?? 0,
    });
    if (!encrypted) {
      onPlain();
      config = { ...config, ssl: false };
    }
    const remainingMs = timeoutMs === 0 ? 0 : Math.max(1, Math.round(timeoutMs - (performance.now() - started)));
    options = { ...config, ssl: false, stream: () => socket, connectionTimeoutMillis: remainingMs };
  }
  const client = new Client(options);
  // An idle connection that drops (server restart) must not crash the process with an unhandled 'error'.
  client.on('error', () => undefined);
  // The server reports its version while the session starts; `serverVersionNumber` needs no query then.
  client.connection.on('parameterStatus', (message: { parameterName: string; parameterValue: string }) => {
    if (message.parameterName === 'server_version') reportedVersions.set(client, message.parameterValue);
  });
  try {
    await client.connect();
  } catch (error) {
    // The failed connection is already unusable; the connect error is the one worth reporting.
    await client.end().catch(() => undefined);
    throw error;
  }
  return { client, config };
}

/** server_version as each session's server reported it at start-up (ParameterStatus). */
const reportedVersions = new WeakMap<Client, string>();

/**
 * node-postgres options that reach the server libpq would choose now (for TypeORM's pool and other
 * connections preflight does not open through `connect`). With one host and one TLS choice that is
 * known without connecting; otherwise one connection finds it.
 */
export async function postgresClientConfig(settings: PostgresSettings, applicationName: string): Promise<ClientConfig> {
  const list = candidates(settings);
  const attrs = settings.targetSessionAttrs ?? 'any';
  if (list.length === 1 && attrs === 'any') {
    return clientConfig(settings, list[0], applicationName, settings.database, perAttemptTimeout(settings, 10_000));
  }
  const { client, config } = await connectResolved(settings, applicationName, settings.database, 10_000);
  await client.end().catch(() => undefined);
  return config;
}

/** The server answered the TLS request: refused it, or its certificate did not do. */
function isTlsOutcome(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (
    /SSL|TLS|certificate/i.test(message) || (typeof code === 'string' && /CERT|TLS|SSL|SIGNATURE|ISSUER/.test(code))
  );
}

function reasonOfError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The server's version as a number, e.g. 150004 for 15.4: as reported at start-up, else asked. */
export async function serverVersionNumber(client: Client): Promise<number> {
  const reported = versionNumber(reportedVersions.get(client));
  if (reported !== undefined) return reported;
  const result = await client.query<{ server_version_num: string }>('SHOW server_version_num');
  return Number(result.rows[0].server_version_num);
}

/** libpq's PQserverVersion from server_version: `16.4 (Debian …)` → 160004, `17devel` → 170000, `9.6.3` → 90603. */
function versionNumber(version: string | undefined): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version ?? '');
  if (!match) return undefined;
  const [major, minor, patch] = match.slice(1).map((part) => Number(part ?? 0));
  if (match[3] !== undefined || major < 10) return (major * 100 + minor) * 100 + patch;
  return major * 10000 + minor;
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

function isSqlState(code: unknown): code is string {
  // Node's own codes (EPIPE) have the same shape; no SQLSTATE class starts with E.
  return typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code);
}

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return isSqlState(code) ? code : undefined;
}
