import type { Config } from '../config';
import { readDataSourceFile, type DataSourceOptions } from '../postgres/data-source-file';

/** What preflight takes from the project's DataSource for the DataSource its migrations run on. */
const passedThrough = [
  'entities',
  'subscribers',
  'migrations',
  'namingStrategy',
  'entityPrefix',
  'schema',
  'extra',
  'useUTC',
  'parseInt8',
  'uuidExtension',
  'installExtensions',
  'metadataTableName',
];
/** Any of these in preflight's environment means the connection comes from there, not from the data source. */
const connectionVariables = ['DATABASE_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'];

/**
 * With PREFLIGHT_DATASOURCE, the job takes the project's entities, migrations, naming strategy,
 * driver extras, migrations table, schema and transaction mode from its data source file; the
 * connection stays preflight's (DATABASE_URL or PG*) when given, else the data source's.
 */
export async function withProjectDataSource(config: Config): Promise<Config> {
  if (config.dataSourceFile === undefined) return config;
  const options = await readDataSourceFile(config.dataSourceFile);
  const fromEnvironment = connectionVariables.some((name) => (config.environment[name] ?? '') !== '');
  const postgres = fromEnvironment ? config.postgres : connectionOf(options, config.postgres);
  const mode = options.migrationsTransactionMode;
  return {
    ...config,
    postgres,
    schema: typeof options.schema === 'string' ? options.schema : config.schema,
    migrationsTable:
      typeof options.migrationsTableName === 'string' ? options.migrationsTableName : config.migrationsTable,
    transactionMode: mode === 'all' || mode === 'each' || mode === 'none' ? mode : config.transactionMode,
    dataSourceOptions: Object.fromEntries(
      passedThrough.filter((key) => key in options).map((key) => [key, options[key]]),
    ),
    secrets: postgres.password ? [...config.secrets, postgres.password] : config.secrets,
  };
}

/** The data source's own connection: `url`, or host, port, username, password and database. */
function connectionOf(options: DataSourceOptions, fallback: Config['postgres']): Config['postgres'] {
  const text = (key: string) => (typeof options[key] === 'string' ? (options[key] as string) : undefined);
  const url = text('url') === undefined ? undefined : new URL(text('url')!);
  return {
    ...fallback,
    host: url?.hostname || text('host') || fallback.host,
    port: Number(url?.port || options.port || fallback.port),
    user: decodeURIComponent(url?.username ?? '') || text('username') || fallback.user,
    password: decodeURIComponent(url?.password ?? '') || text('password') || fallback.password,
    database: decodeURIComponent(url?.pathname.slice(1) ?? '') || text('database') || fallback.database,
  };
}
