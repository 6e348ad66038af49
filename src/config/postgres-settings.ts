import { accessSync, constants } from 'node:fs';
import { ConninfoError, conninfoKeywords, parseConninfo, type Conninfo } from './conninfo';
import type { Environment, EnvironmentProblem } from './environment';

/** libpq's sslmode, with libpq's meaning (default `prefer`). */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
/** libpq's target_session_attrs (default `any`). */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';

/** One server of the list; a host starting with `/` is a unix-socket directory. */
export interface PostgresHost {
  host: string;
  port: number;
}

/** Where and how to reach PostgreSQL, from DATABASE_URL (URL or keyword=value) and libpq's PG* variables. */
export interface PostgresSettings {
  /** the first host of the list: for messages */
  host: string;
  port: number;
  /** every host, tried in order (libpq's multi-host); absent means just `host:port` */
  hosts?: PostgresHost[];
  user: string;
  password?: string;
  database: string;
  sslMode: SslMode;
  /** PEM CA bundle that verifies the server (`system`: the system's roots) */
  sslRootCert?: string;
  /** PEM client certificate and its key (client-certificate authentication) */
  sslCert?: string;
  sslKey?: string;
  /** passphrase of an encrypted sslkey */
  sslPassword?: string;
  /** overrides preflight's own `preflight/<host>` */
  applicationName?: string;
  /** command-line options sent at connection start, e.g. `-c search_path=app` */
  options?: string;
  /** seconds per host and attempt; libpq treats values below 2 as 2, and 0 as no limit */
  connectTimeoutSeconds?: number;
  targetSessionAttrs?: TargetSessionAttrs;
}

const sslModes: SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const sessionAttrs: TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];

/** libpq's environment variable for each keyword: its default when the connection string does not say. */
const environmentDefaults: Array<[keyword: string, variable: string]> = [
  ['host', 'PGHOST'],
  ['hostaddr', 'PGHOSTADDR'],
  ['port', 'PGPORT'],
  ['user', 'PGUSER'],
  ['password', 'PGPASSWORD'],
  ['dbname', 'PGDATABASE'],
  ['sslmode', 'PGSSLMODE'],
  ['sslrootcert', 'PGSSLROOTCERT'],
  ['sslcert', 'PGSSLCERT'],
  ['sslkey', 'PGSSLKEY'],
  ['application_name', 'PGAPPNAME'],
  ['options', 'PGOPTIONS'],
  ['connect_timeout', 'PGCONNECT_TIMEOUT'],
  ['target_session_attrs', 'PGTARGETSESSIONATTRS'],
];

/** PostgreSQL settings: DATABASE_URL's parameters first, libpq's PG* variables for the rest. */
export function postgresSettings(env: Environment, problems: EnvironmentProblem[]): PostgresSettings | undefined {
  let given: Conninfo = {};
  if (env.DATABASE_URL) {
    try {
      given = parseConninfo(env.DATABASE_URL);
    } catch (error) {
      const reason = error instanceof ConninfoError ? error.message : 'cannot be parsed';
      problems.push({ variable: 'DATABASE_URL', message: reason });
      return undefined;
    }
    const unknown = Object.keys(given).filter((key) => !(conninfoKeywords as readonly string[]).includes(key));
    for (const key of unknown) {
      problems.push({
        variable: 'DATABASE_URL',
        message: `unknown parameter "${key}" (libpq parameters preflight takes: ${conninfoKeywords.join(', ')})`,
      });
    }
    if (unknown.length > 0) return undefined;
  } else if (!env.PGHOST && !env.PGHOSTADDR) {
    problems.push({
      variable: 'DATABASE_URL',
      message:
        'not set: set DATABASE_URL (postgres://USER@HOST:5432/DB, password in the URL or PGPASSWORD) or PGHOST, PGUSER, PGPASSWORD, PGDATABASE',
    });
    return undefined;
  }
  const source = (keyword: string) =>
    given[keyword] !== undefined && given[keyword] !== '' ? 'DATABASE_URL' : variableOf(keyword);
  const value = (keyword: string): string | undefined => {
    const variable = environmentDefaults.find(([name]) => name === keyword)?.[1];
    const fromEnv = variable === undefined ? undefined : env[variable];
    const text = given[keyword] !== undefined && given[keyword] !== '' ? given[keyword] : fromEnv;
    return text === undefined || text === '' ? undefined : text;
  };
  const hosts = hostList(value('host') ?? value('hostaddr'), value('port'), source('port'), problems);
  if (!hosts) return undefined;
  const user = value('user') ?? 'postgres';
  const sslMode = oneOf(value('sslmode') ?? 'prefer', sslModes, `${source('sslmode')}: sslmode`, problems);
  const settings: PostgresSettings = {
    host: hosts[0].host,
    port: hosts[0].port,
    ...(hosts.length > 1 ? { hosts } : {}),
    user,
    password: value('password'),
    database: value('dbname') ?? user,
    sslMode,
    sslRootCert: value('sslrootcert'),
    sslCert: value('sslcert'),
    sslKey: value('sslkey'),
    sslPassword: value('sslpassword'),
    applicationName: value('application_name'),
    options: value('options'),
    connectTimeoutSeconds: timeoutOf(value('connect_timeout'), source('connect_timeout'), problems),
    targetSessionAttrs: oneOf(
      value('target_session_attrs') ?? 'any',
      sessionAttrs,
      `${source('target_session_attrs')}: target_session_attrs`,
      problems,
    ),
  };
  for (const keyword of ['sslrootcert', 'sslcert', 'sslkey'] as const) {
    const file = value(keyword);
    if (file === undefined || (keyword === 'sslrootcert' && file === 'system')) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({ variable: source(keyword), message: `${keyword} ${file} cannot be read (${code})` });
    }
  }
  if ((settings.sslCert === undefined) !== (settings.sslKey === undefined)) {
    problems.push({ variable: source('sslcert'), message: 'a client certificate needs both sslcert and sslkey' });
  }
  if (settings.sslMode === 'verify-ca' && settings.sslRootCert === 'system') {
    problems.push({
      variable: source('sslmode'),
      message: 'sslrootcert=system needs sslmode=verify-full (as libpq): anyone can get a public certificate',
    });
  }
  // Only defined values: the settings print and compare cleanly.
  return Object.fromEntries(
    Object.entries(settings).filter(([, entry]) => entry !== undefined),
  ) as unknown as PostgresSettings;
}

function variableOf(keyword: string): string {
  return environmentDefaults.find(([name]) => name === keyword)?.[1] ?? 'DATABASE_URL';
}

function hostList(
  hostText: string | undefined,
  portText: string | undefined,
  portSource: string,
  problems: EnvironmentProblem[],
): PostgresHost[] | undefined {
  const hosts = (hostText ?? '').split(',').map((host) => host.trim());
  const ports = (portText ?? '').split(',').map((port) => port.trim());
  if (hosts.every((host) => host === '')) {
    problems.push({ variable: 'DATABASE_URL', message: 'has no host: give one in the URL, host=..., or PGHOST' });
    return undefined;
  }
  if (ports.length !== 1 && ports.length !== hosts.length) {
    problems.push({
      variable: portSource,
      message: `${ports.length} ports for ${hosts.length} hosts: give one port for all, or one per host`,
    });
    return undefined;
  }
  const list: PostgresHost[] = [];
  for (const [index, host] of hosts.entries()) {
    const text = ports.length === 1 ? ports[0] : ports[index];
    const port = text === '' ? 5432 : Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      problems.push({ variable: portSource, message: `must be a port number 1-65535 (got "${text}")` });
      return undefined;
    }
    list.push({ host: host === '' ? '/var/run/postgresql' : host, port });
  }
  return list;
}

function oneOf<T extends string>(text: string, allowed: T[], what: string, problems: EnvironmentProblem[]): T {
  if (!(allowed as string[]).includes(text)) {
    const [variable, name] = what.split(': ');
    problems.push({ variable, message: `${name} must be one of ${allowed.join(', ')} (got "${text}")` });
  }
  return text as T;
}

function timeoutOf(text: string | undefined, variable: string, problems: EnvironmentProblem[]): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) {
    problems.push({ variable, message: `connect_timeout must be whole seconds (got "${text}")` });
    return undefined;
  }
  return Number(text);
}
