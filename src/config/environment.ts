import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Variables that hold secrets: each may instead be given as `<NAME>_FILE` (Docker/Kubernetes secrets). */
const secretVariables = [
  'DATABASE_URL',
  'PGPASSWORD',
  'ETCD_PASSWORD',
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
] as const;

export type Environment = Record<string, string | undefined>;

export interface EnvironmentProblem {
  variable: string;
  message: string;
}

/**
 * The environment preflight sees: the process environment, then `.env` from `cwd` for what it does
 * not set (real environment always wins), then every `<SECRET>_FILE` read into `<SECRET>`.
 */
export function readEnvironment(
  processEnv: Environment,
  cwd: string,
): { env: Environment; problems: EnvironmentProblem[] } {
  const env: Environment = { ...processEnv };
  const envFile = join(cwd, '.env');
  if (existsSync(envFile)) {
    // Loaded only when there is a .env file (containers rarely have one): it costs start-up time (issue 15).
    const dotenv = require('dotenv') as typeof import('dotenv');
    dotenv.config({ path: envFile, processEnv: env as Record<string, string>, quiet: true });
  }
  const problems: EnvironmentProblem[] = [];
  for (const name of secretVariables) {
    const filePath = env[`${name}_FILE`];
    if (filePath === undefined || filePath === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push({ variable: `${name}_FILE`, message: `set either ${name} or ${name}_FILE, not both` });
      continue;
    }
    try {
      env[name] = readFileSync(filePath, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push({ variable: `${name}_FILE`, message: `cannot read ${filePath} (${code})` });
    }
  }
  return { env, problems };
}
