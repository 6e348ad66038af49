import { accessSync, constants } from 'node:fs';
import type { Environment, EnvironmentProblem } from './environment';

/** Redis connection settings: REDIS_URL, or Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER). */
export interface RedisSettings {
  /** REDIS_URL; with Sentinel `redis://<master>/<db>`, for messages only */
  url: string;
  password?: string;
  /** rediss://: PEM files for the CA that verifies the server and an optional client certificate */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Sentinel: the master of this name, as the sentinels report it now */
  sentinel?: { hosts: Array<{ host: string; port: number }>; master: string; password?: string };
  /** the database index, default 0 */
  database: number;
}

const tlsVariables = ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const;

export function redisSettings(env: Environment, problems: EnvironmentProblem[]): RedisSettings | undefined {
  if (env.REDIS_SENTINELS) return sentinelSettings(env, problems);
  if (!env.REDIS_URL) {
    for (const name of ['REDIS_PASSWORD', 'REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_PASSWORD', ...tlsVariables]) {
      if (env[name]) problems.push({ variable: name, message: 'is set but REDIS_URL (or REDIS_SENTINELS) is not' });
    }
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(env.REDIS_URL);
  } catch {
    problems.push({ variable: 'REDIS_URL', message: 'is not a URL: expected redis://[:password@]host:6379[/db]' });
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    problems.push({ variable: 'REDIS_URL', message: `scheme must be redis:// or rediss:// (got ${url.protocol}//)` });
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    problems.push({ variable: 'REDIS_URL', message: `database must be a number (got "/${db}")` });
  }
  const tls = tlsFiles(env, problems);
  if (tls && url.protocol !== 'rediss:') {
    problems.push({
      variable: Object.keys(tls).length > 0 ? tlsVariables.find((name) => env[name])! : 'REDIS_URL',
      message: 'TLS files are given but REDIS_URL is redis://: use rediss:// for TLS',
    });
  }
  return {
    url: env.REDIS_URL,
    password: env.REDIS_PASSWORD || undefined,
    ...(url.protocol === 'rediss:' ? { tls: tls ?? {} } : {}),
    database: Number(db || 0),
  };
}

function sentinelSettings(env: Environment, problems: EnvironmentProblem[]): RedisSettings | undefined {
  if (env.REDIS_URL) {
    problems.push({ variable: 'REDIS_URL', message: 'set either REDIS_URL or REDIS_SENTINELS, not both' });
  }
  const master = env.REDIS_SENTINEL_MASTER;
  if (!master) {
    problems.push({ variable: 'REDIS_SENTINEL_MASTER', message: 'REDIS_SENTINELS needs the master name too' });
  }
  const hosts: Array<{ host: string; port: number }> = [];
  for (const entry of (env.REDIS_SENTINELS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      problems.push({ variable: 'REDIS_SENTINELS', message: `"${entry}" is not host:port` });
      continue;
    }
    hosts.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  if (tlsFiles(env, problems)) {
    problems.push({ variable: 'REDIS_TLS_CA_FILE', message: 'TLS to Sentinel-managed Redis is not supported yet' });
  }
  const database = Number(env.REDIS_SENTINEL_DB ?? 0);
  if (!Number.isInteger(database) || database < 0) {
    problems.push({
      variable: 'REDIS_SENTINEL_DB',
      message: `must be a database index (got "${env.REDIS_SENTINEL_DB}")`,
    });
  }
  if (!master || hosts.length === 0) return undefined;
  return {
    url: `redis://${master}/${database}`,
    password: env.REDIS_PASSWORD || undefined,
    sentinel: { hosts, master, password: env.REDIS_SENTINEL_PASSWORD || undefined },
    database,
  };
}

function tlsFiles(env: Environment, problems: EnvironmentProblem[]): RedisSettings['tls'] | undefined {
  const [caFile, certFile, keyFile] = tlsVariables.map((name) => env[name] || undefined);
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  for (const name of tlsVariables) {
    const file = env[name];
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      problems.push({ variable: name, message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code})` });
    }
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push({
      variable: certFile ? 'REDIS_TLS_KEY_FILE' : 'REDIS_TLS_CERT_FILE',
      message: 'a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE',
    });
  }
  return { caFile, certFile, keyFile };
}
