import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { PreflightError } from '../core/errors';
import { readEnvironment, type Environment, type EnvironmentProblem } from './environment';
import { closestName, contentSelection, jobOptions, parseJobOptions, type ContentSelection } from './job-options';
import { postgresSettings, type PostgresSettings } from './postgres-settings';
import { etcdSettings, type EtcdSettingsFromEnv } from './store-settings';
import { redisSettings, type RedisSettings } from './redis-settings';

export type { PostgresSettings, EtcdSettingsFromEnv, RedisSettings };

const packageRoot = resolve(__dirname, '../../..');

/** Everything the job needs, validated and defaulted. Nothing outside src/config reads the environment. */
export interface Config extends ContentSelection {
  postgres: PostgresSettings;
  etcd?: EtcdSettingsFromEnv;
  redis?: RedisSettings;
  waitTimeoutMs: number;
  lockTimeoutMs: number;
  createDatabase: boolean;
  transactionMode: 'each' | 'all' | 'none';
  allowUnknown: boolean;
  allowOutOfOrder: boolean;
  ddlLockTimeoutMs: number;
  /** 0 means no statement timeout */
  statementTimeoutMs: number;
  ddlRetries: number;
  migrationsPath: string;
  migrationsTable: string;
  schema: string;
  /** pg_dump before migrating, into this directory */
  backupDir?: string;
  /** where the seeded admin's keypair is written; no seeding without it */
  secretsDir?: string;
  adminUsername: string;
  adminEmail: string;
  /** true when PREFLIGHT_MIGRATIONS points elsewhere: the platform's seeds and steps are then not applied */
  customMigrations: boolean;
  /** PREFLIGHT_ALLOW_EMPTY: zero migrations found is not an error */
  allowEmpty: boolean;
  /** PREFLIGHT_DATASOURCE: the project's compiled data source file */
  dataSourceFile?: string;
  /** what the project's data source adds to the migrations' DataSource (entities, naming strategy, extra) */
  dataSourceOptions?: Record<string, unknown>;
  /** explicit report path, `undefined` for the default (/dev/termination-log when writable), or null for none */
  reportFile: string | null | undefined;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'pretty';
  /** `preflight/<host>`: how this job shows up in pg_stat_activity */
  applicationName: string;
  /** every secret value, so the logger can redact it wherever it appears */
  secrets: string[];
  /** the whole environment (.env and *_FILE values included, so secrets too): `${VAR}` in fixture files and pg tools' PATH read it; never log it */
  environment: Readonly<Environment>;
}

export interface LoadConfigOptions {
  env: Environment;
  cwd: string;
  stdoutIsTty: boolean;
}

/** Reads and validates the whole configuration in one pass; throws one config error listing every problem. */
export function loadConfig(options: LoadConfigOptions): Config {
  return load(options, true) as Config;
}

/** The configuration of commands that need no PostgreSQL (`fixtures diff|apply`): its settings may be absent. */
export type ConfigWithoutPostgres = Omit<Config, 'postgres'> & { postgres?: PostgresSettings };

/** As loadConfig, but DATABASE_URL / PG* are neither required nor checked. */
export function loadConfigWithoutPostgres(options: LoadConfigOptions): ConfigWithoutPostgres {
  return load(options, false);
}

function load({ env: processEnv, cwd, stdoutIsTty }: LoadConfigOptions, needsPostgres: boolean): ConfigWithoutPostgres {
  const { env, problems } = readEnvironment(processEnv, cwd);
  const postgres = postgresSettings(env, needsPostgres ? problems : []);
  const etcd = etcdSettings(env, problems);
  const redis = redisSettings(env, problems);

  const known = new Set(Object.keys(jobOptions));
  for (const name of Object.keys(env)) {
    if (name.startsWith('PREFLIGHT_') && !known.has(name)) {
      const closest = closestName(name, [...known]);
      const hint = closest ? `did you mean ${closest}?` : 'check the spelling; see the README for the list';
      problems.push({ variable: name, message: `unknown variable (${hint})` });
    }
  }
  const optionValues: Record<string, string | undefined> = {};
  for (const name of known) optionValues[name] = env[name] === '' ? undefined : env[name];
  const parsed = parseJobOptions(optionValues);
  problems.push(...parsed.problems);
  if (problems.length > 0 || !parsed.options || (needsPostgres && !postgres)) throw configError(problems);

  const options = parsed.options;
  const reportFile = options.PREFLIGHT_REPORT_FILE;
  const platformFixtures = resolve(packageRoot, 'fixtures/etcd');
  const content = contentSelection(
    options,
    (name) => optionValues[name] !== undefined,
    platformFixtures,
    (path) => resolve(cwd, path),
  );
  return {
    postgres,
    etcd,
    redis,
    waitTimeoutMs: options.PREFLIGHT_WAIT_TIMEOUT,
    lockTimeoutMs: options.PREFLIGHT_LOCK_TIMEOUT,
    createDatabase: options.PREFLIGHT_CREATE_DATABASE,
    transactionMode: options.PREFLIGHT_TRANSACTION,
    allowUnknown: options.PREFLIGHT_ALLOW_UNKNOWN,
    allowOutOfOrder: options.PREFLIGHT_ALLOW_OUT_OF_ORDER,
    ddlLockTimeoutMs: options.PREFLIGHT_DDL_LOCK_TIMEOUT,
    statementTimeoutMs: options.PREFLIGHT_STATEMENT_TIMEOUT,
    ddlRetries: options.PREFLIGHT_DDL_RETRIES,
    migrationsPath: resolve(cwd, options.PREFLIGHT_MIGRATIONS ?? resolve(packageRoot, 'dist/migrations')),
    migrationsTable: options.PREFLIGHT_MIGRATIONS_TABLE,
    schema: options.PREFLIGHT_SCHEMA,
    ...content,
    backupDir: options.PREFLIGHT_BACKUP_DIR === undefined ? undefined : resolve(cwd, options.PREFLIGHT_BACKUP_DIR),
    secretsDir: options.PREFLIGHT_SECRETS_DIR === undefined ? undefined : resolve(cwd, options.PREFLIGHT_SECRETS_DIR),
    adminUsername: options.PREFLIGHT_ADMIN_USERNAME,
    adminEmail: options.PREFLIGHT_ADMIN_EMAIL,
    customMigrations: options.PREFLIGHT_MIGRATIONS !== undefined || options.PREFLIGHT_DATASOURCE !== undefined,
    allowEmpty: options.PREFLIGHT_ALLOW_EMPTY,
    dataSourceFile: options.PREFLIGHT_DATASOURCE === undefined ? undefined : resolve(cwd, options.PREFLIGHT_DATASOURCE),
    reportFile: reportFile === 'none' ? null : reportFile === undefined ? undefined : resolve(cwd, reportFile),
    logLevel: options.LOG_LEVEL,
    logFormat: options.LOG_FORMAT ?? (stdoutIsTty ? 'pretty' : 'json'),
    applicationName: postgres?.applicationName ?? `preflight/${hostname()}`.slice(0, 63),
    secrets: [
      postgres?.password,
      postgres?.sslPassword,
      etcd?.password,
      redis?.password,
      redisUrlPassword(redis?.url),
      redis?.sentinel?.password,
    ].filter((secret): secret is string => typeof secret === 'string' && secret.length > 0),
    environment: env,
  };
}

function redisUrlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function configError(problems: EnvironmentProblem[]): PreflightError {
  const lines = problems.map((problem) => `${problem.variable}: ${problem.message}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new PreflightError('config', `invalid configuration (${count}): ${lines.join('; ')}`, { details: lines });
}
