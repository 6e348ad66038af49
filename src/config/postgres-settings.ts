import type { Environment, EnvironmentProblem } from './environment';

/** Where and how to reach PostgreSQL, from DATABASE_URL or libpq's PG* variables. */
export interface PostgresSettings {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** libpq's sslmode: `disable` (default), `require` (encrypt, trust any certificate), `verify-ca`/`verify-full` (verify it) */
  sslMode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
}

const sslModes = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

function sslModeOf(
  text: string | undefined,
  variable: string,
  problems: EnvironmentProblem[],
): PostgresSettings['sslMode'] {
  if (text === undefined || text === '') return 'disable';
  if (!sslModes.includes(text)) {
    problems.push({ variable, message: `sslmode must be one of ${sslModes.join(', ')} (got "${text}")` });
    return 'disable';
  }
  // node-postgres cannot fall back from TLS to plain, so libpq's opportunistic modes mean "plain".
  return text === 'allow' || text === 'prefer' ? 'disable' : (text as PostgresSettings['sslMode']);
}

function portOf(text: string, variable: string, problems: EnvironmentProblem[]): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push({ variable, message: `must be a port number 1-65535 (got "${text}")` });
  }
  return port;
}

/** PostgreSQL settings from the environment; DATABASE_URL wins over the PG* variables. */
export function postgresSettings(env: Environment, problems: EnvironmentProblem[]): PostgresSettings | undefined {
  const url = env.DATABASE_URL;
  if (url) return fromUrl(url, env, problems);
  if (!env.PGHOST) {
    problems.push({
      variable: 'DATABASE_URL',
      message:
        'not set: set DATABASE_URL (postgres://USER@HOST:5432/DB, password in the URL or PGPASSWORD) or PGHOST, PGUSER, PGPASSWORD, PGDATABASE',
    });
    return undefined;
  }
  const user = env.PGUSER || 'postgres';
  return {
    host: env.PGHOST,
    port: env.PGPORT ? portOf(env.PGPORT, 'PGPORT', problems) : 5432,
    user,
    password: env.PGPASSWORD || undefined,
    database: env.PGDATABASE || user,
    sslMode: sslModeOf(env.PGSSLMODE, 'PGSSLMODE', problems),
  };
}

function fromUrl(text: string, env: Environment, problems: EnvironmentProblem[]): PostgresSettings | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push({
      variable: 'DATABASE_URL',
      message: 'is not a URL: expected postgres://user:password@host:5432/database',
    });
    return undefined;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push({
      variable: 'DATABASE_URL',
      message: `scheme must be postgres:// or postgresql:// (got ${url.protocol}//)`,
    });
    return undefined;
  }
  const host = url.searchParams.get('host') ?? decodeURIComponent(url.hostname);
  if (!host) {
    problems.push({ variable: 'DATABASE_URL', message: 'has no host' });
    return undefined;
  }
  const user = decodeURIComponent(url.username) || env.PGUSER || 'postgres';
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || env.PGDATABASE || user;
  return {
    host,
    port: url.port ? portOf(url.port, 'DATABASE_URL', problems) : 5432,
    user,
    password: url.password ? decodeURIComponent(url.password) : env.PGPASSWORD || undefined,
    database,
    sslMode: sslModeOf(url.searchParams.get('sslmode') ?? env.PGSSLMODE, 'DATABASE_URL', problems),
  };
}
