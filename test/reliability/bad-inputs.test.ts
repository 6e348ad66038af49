/**
 * The bad-input catalogue (issue 6, reliability item 4, and item 5 for report files): every case
 * is one bad input given to an otherwise complete configuration (PostgreSQL with the platform's
 * migrations pending, etcd with the platform's fixtures, Redis), and asserts
 *   - the documented exit code,
 *   - exactly one `job.failed` line, a single line of text, whose message names the culprit,
 *   - no change in any store (no table, schema or type in the test database, no key under the
 *     test's etcd namespace, DBSIZE 0 in the test's Redis database; for cases that start from an
 *     earlier run: exactly what that run left),
 *   - no sentinel password in its stdout, stderr or report file (PREFLIGHT_REPORT_FILE in a temp
 *     dir of its own).
 *
 * docs/bad-inputs.md is rendered from this list, and a test fails when it differs; regenerate it
 * with `UPDATE_BAD_INPUTS_DOC=1 node dist/test/support/run-tests.js dist/test/reliability/bad-inputs.test.js`.
 *
 * A case whose observed behaviour contradicts the README carries `todo` (node:test reports it
 * without failing the run); the doc lists them as known deviations.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  etcdNamespace,
  freshDatabase,
  preflightEnv,
  redisDb,
  runCli,
  tempDir,
  testStack,
  type CliResult,
  type TestDatabase,
  type TestEtcdNamespace,
  type TestRedisDb,
  type TestStackInfo,
} from '../support/context';
import {
  failures,
  leakedSentinels,
  migrationSource,
  repoRoot,
  userRelations,
  userSchemasAndTypes,
  writeFiles,
} from './support';

interface CaseContext {
  stack: TestStackInfo;
  db: TestDatabase;
  etcd: TestEtcdNamespace;
  redis: TestRedisDb;
  /** a temp dir of this case's own, for fixture, migration, secret and report files */
  dir: string;
  /** the complete, valid environment the case's bad input is applied to */
  base: Record<string, string>;
}

type Category = 'environment' | 'output file' | 'store' | 'fixture file' | 'migration' | 'command line';

interface BadInput {
  /** unique; the test name and the doc's input column */
  name: string;
  category: Category;
  /** what exactly is given, in Markdown */
  input: string;
  /** the exit code the README documents for it */
  code: number;
  /** what the job.failed message must match: it names the culprit */
  message: RegExp;
  /** default ['run'] */
  args?: string[];
  /** changes to the base environment; undefined removes a variable */
  env?(ctx: CaseContext): Record<string, string | undefined>;
  /** the CLI's working directory (for .env); default a fresh temp dir */
  cwd?(ctx: CaseContext): string;
  /** brings the stores to a state first (an earlier successful run); "no change" is then relative to it */
  prepare?(ctx: CaseContext, env: Record<string, string>): Promise<void>;
  /** further checks of the outcome */
  verify?(ctx: CaseContext, result: CliResult): Promise<void>;
  /** a failure while applying (exit 70) may leave TypeORM's migrations table and preflight's ledger behind, empty */
  leavesEmptyBookkeeping?: true;
  /** set when src/ does not do what the README says: what it does instead (the case is reported as todo) */
  todo?: string;
}

const goodFixture = 'prefix: good\ndata:\n  a: "1"\n';

/** PREFLIGHT_FIXTURES pointing at this case's own fixture dir, holding a valid file and `files`. */
function fixtures(ctx: CaseContext, files: Record<string, string>): Record<string, string> {
  return { PREFLIGHT_FIXTURES: writeFiles(path.join(ctx.dir, 'fixtures'), { '10-good.yaml': goodFixture, ...files }) };
}

/** PREFLIGHT_MIGRATIONS pointing at this case's own dir of compiled migrations. */
function migrations(ctx: CaseContext, files: Array<[string, string]>): Record<string, string> {
  return { PREFLIGHT_MIGRATIONS: writeFiles(path.join(ctx.dir, 'migrations'), Object.fromEntries(files)) };
}

/** The `run` that brings the stores to a state a later bad input conflicts with. */
async function runOk(env: Record<string, string>): Promise<void> {
  const result = await runCli(['run'], env);
  assert.equal(result.code, 0, `preparing run failed:\n${result.stdout}${result.stderr}`);
}

const first = migrationSource('First1800000000001', `    await queryRunner.query('CREATE TABLE first (id int)');`);
const newer = migrationSource('Newer1800000000009', `    await queryRunner.query('CREATE TABLE newer (id int)');`);
const pgUrl = (user: string, password: string, host: string, port: number, database: string) =>
  `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`;

const cases: BadInput[] = [
  // ---- environment (validated in one pass before any store is touched) ----
  {
    name: 'wait timeout is not a duration',
    category: 'environment',
    input: '`PREFLIGHT_WAIT_TIMEOUT=soon`',
    code: 78,
    message: /PREFLIGHT_WAIT_TIMEOUT: not a duration: "soon"/,
    env: () => ({ PREFLIGHT_WAIT_TIMEOUT: 'soon' }),
  },
  {
    name: 'unknown transaction mode',
    category: 'environment',
    input: '`PREFLIGHT_TRANSACTION=sometimes`',
    code: 78,
    message: /PREFLIGHT_TRANSACTION: must be each, all or none/,
    env: () => ({ PREFLIGHT_TRANSACTION: 'sometimes' }),
  },
  {
    name: 'misspelt PREFLIGHT_ variable',
    category: 'environment',
    input: '`PREFLIGHT_DDL_LOCK_TIMOUT=1s` (typo)',
    code: 78,
    message: /PREFLIGHT_DDL_LOCK_TIMOUT: unknown variable/,
    env: () => ({ PREFLIGHT_DDL_LOCK_TIMOUT: '1s' }),
  },
  {
    name: 'flag that is not a boolean',
    category: 'environment',
    input: '`PREFLIGHT_CREATE_DATABASE=maybe`',
    code: 78,
    message: /PREFLIGHT_CREATE_DATABASE: must be true or false/,
    env: () => ({ PREFLIGHT_CREATE_DATABASE: 'maybe' }),
  },
  {
    name: 'schema that is not an identifier',
    category: 'environment',
    input: '`PREFLIGHT_SCHEMA=public;drop`',
    code: 78,
    message: /PREFLIGHT_SCHEMA: must be a plain SQL identifier/,
    env: () => ({ PREFLIGHT_SCHEMA: 'public;drop' }),
  },
  {
    name: 'admin email that is not an email',
    category: 'environment',
    input: '`PREFLIGHT_ADMIN_EMAIL=admin`',
    code: 78,
    message: /PREFLIGHT_ADMIN_EMAIL: must be an email address/,
    env: () => ({ PREFLIGHT_ADMIN_EMAIL: 'admin' }),
  },
  {
    name: 'no database configured',
    category: 'environment',
    input: 'neither `DATABASE_URL` nor `PGHOST` set',
    code: 78,
    message: /DATABASE_URL: not set/,
    env: () => ({ DATABASE_URL: undefined }),
  },
  {
    name: 'database URL with a parameter libpq does not know',
    category: 'environment',
    input: '`DATABASE_URL=...?sslmdoe=require` (a typo)',
    code: 78,
    message: /DATABASE_URL: unknown parameter "sslmdoe"/,
    env: ({ db }) => ({ DATABASE_URL: `${db.url}?sslmdoe=require` }),
  },
  {
    name: 'PGPORT that is not a port',
    category: 'environment',
    input: '`PGHOST=127.0.0.1 PGPORT=abc`, no `DATABASE_URL`',
    code: 78,
    message: /PGPORT: must be a port number 1-65535 \(got "abc"\)/,
    env: () => ({ DATABASE_URL: undefined, PGHOST: '127.0.0.1', PGPORT: 'abc' }),
  },
  {
    name: 'unknown sslmode',
    category: 'environment',
    input: '`DATABASE_URL=...?sslmode=sometimes`',
    code: 78,
    message:
      /DATABASE_URL: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full \(got "sometimes"\)/,
    env: ({ db }) => ({ DATABASE_URL: `${db.url}?sslmode=sometimes` }),
  },
  {
    name: 'secret file that does not exist',
    category: 'environment',
    input: '`PGPASSWORD_FILE=/nonexistent/pgpass`',
    code: 78,
    message: /PGPASSWORD_FILE: cannot read \/nonexistent\/pgpass \(ENOENT\)/,
    env: () => ({ PGPASSWORD_FILE: '/nonexistent/pgpass' }),
  },
  {
    name: 'secret given twice',
    category: 'environment',
    input: '`REDIS_PASSWORD` and `REDIS_PASSWORD_FILE` both set',
    code: 78,
    message: /REDIS_PASSWORD_FILE: set either REDIS_PASSWORD or REDIS_PASSWORD_FILE, not both/,
    env: ({ dir, stack }) => {
      fs.writeFileSync(path.join(dir, 'redis-password'), stack.redis.password);
      return { REDIS_PASSWORD: stack.redis.password, REDIS_PASSWORD_FILE: path.join(dir, 'redis-password') };
    },
  },
  {
    name: 'bad value in .env',
    category: 'environment',
    input: '`.env` in the working directory with a password and `PREFLIGHT_LOCK_TIMOUT=5m` (typo)',
    code: 78,
    message: /PREFLIGHT_LOCK_TIMOUT: unknown variable/,
    cwd: ({ dir, stack }) =>
      writeFiles(path.join(dir, 'cwd'), {
        '.env': `# settings\nPGPASSWORD=${stack.postgres.password}\nPREFLIGHT_LOCK_TIMOUT=5m\n`,
      }),
  },
  {
    name: 'etcd endpoint without a scheme',
    category: 'environment',
    input: '`ETCD_ENDPOINTS=etcd:2379`',
    code: 78,
    message: /ETCD_ENDPOINTS: "etcd:2379" is not an http\(s\):\/\/host:port endpoint/,
    env: () => ({ ETCD_ENDPOINTS: 'etcd:2379' }),
  },
  {
    name: 'etcd user without a password',
    category: 'environment',
    input: '`ETCD_USERNAME` set, `ETCD_PASSWORD` not',
    code: 78,
    message: /ETCD_PASSWORD: etcd needs both ETCD_USERNAME and ETCD_PASSWORD/,
    env: () => ({ ETCD_PASSWORD: undefined }),
  },
  {
    name: 'etcd CA file that does not exist',
    category: 'environment',
    input: '`ETCD_CA_FILE=/nonexistent/ca.pem` with an https:// endpoint',
    code: 78,
    message: /\/nonexistent\/ca\.pem: cannot read the etcd TLS file/,
    env: ({ stack }) => ({
      ETCD_ENDPOINTS: stack.etcd.endpoint.replace(/^http:/, 'https:'),
      ETCD_CA_FILE: '/nonexistent/ca.pem',
    }),
  },
  {
    name: 'etcd CA file with an http:// endpoint',
    category: 'environment',
    input: '`ETCD_CA_FILE` set, `ETCD_ENDPOINTS=http://...`',
    code: 78,
    message: /ETCD_CA_FILE: is set but ETCD_ENDPOINTS has http:\/\/\S+: TLS needs https:\/\/ endpoints/,
    env: () => ({ ETCD_CA_FILE: '/nonexistent/ca.pem' }),
  },
  {
    name: 'Redis URL with a wrong scheme',
    category: 'environment',
    input: '`REDIS_URL=http://redis:6379`',
    code: 78,
    message: /REDIS_URL: scheme must be redis:\/\/ or rediss:\/\//,
    env: () => ({ REDIS_URL: 'http://redis:6379' }),
  },
  {
    name: 'migrations directory that does not exist',
    category: 'environment',
    input: '`PREFLIGHT_MIGRATIONS=/nonexistent/migrations`',
    code: 78,
    message: /PREFLIGHT_MIGRATIONS: cannot read \/nonexistent\/migrations \(ENOENT\)/,
    env: () => ({ PREFLIGHT_MIGRATIONS: '/nonexistent/migrations' }),
  },
  {
    name: 'migrations path that is a file',
    category: 'environment',
    input: '`PREFLIGHT_MIGRATIONS=<a file>`',
    code: 78,
    message: /PREFLIGHT_MIGRATIONS: cannot read \S+\/migrations\.js\S* \(ENOTDIR\)/,
    env: ({ dir }) => ({ PREFLIGHT_MIGRATIONS: path.join(writeFiles(dir, { 'migrations.js': '' }), 'migrations.js') }),
  },
  {
    name: 'fixtures path that is a file',
    category: 'environment',
    input: '`PREFLIGHT_FIXTURES=<a file>`',
    code: 78,
    message: /cannot read the fixtures directory: ENOTDIR.* — check PREFLIGHT_FIXTURES/,
    env: ({ dir }) => ({
      PREFLIGHT_FIXTURES: path.join(writeFiles(dir, { 'fixtures.yaml': goodFixture }), 'fixtures.yaml'),
    }),
  },

  // ---- report file ----
  {
    name: 'report file in a missing directory',
    category: 'output file',
    input: '`PREFLIGHT_REPORT_FILE=<dir>/missing/report.json`',
    code: 78,
    message: /PREFLIGHT_REPORT_FILE: cannot write \S+\/missing\/report\.json \(ENOENT\)/,
    env: ({ dir }) => ({ PREFLIGHT_REPORT_FILE: path.join(dir, 'missing', 'report.json') }),
  },
  {
    name: 'report file on a full disk',
    category: 'output file',
    input: '`PREFLIGHT_REPORT_FILE=/dev/full` (opens, every write fails with ENOSPC)',
    code: 78,
    message: /PREFLIGHT_REPORT_FILE: cannot write \/dev\/full \(ENOSPC\)/,
    env: () => ({ PREFLIGHT_REPORT_FILE: '/dev/full' }),
  },
  {
    name: 'backup directory that cannot be created',
    category: 'output file',
    input: '`PREFLIGHT_BACKUP_DIR=<a file>/backups`',
    code: 70,
    message:
      /^backup of database test_\w+ to \S+\/backups failed: cannot create the directory \(ENOTDIR.* — no migration was applied/,
    env: ({ dir }) => ({
      PREFLIGHT_BACKUP_DIR: path.join(writeFiles(dir, { 'not-a-dir': '' }), 'not-a-dir', 'backups'),
    }),
  },
  {
    name: 'secrets directory that cannot be written',
    category: 'output file',
    input: "`PREFLIGHT_SECRETS_DIR=<a file>/secrets` (where the first admin's keypair goes)",
    code: 78,
    message: /PREFLIGHT_SECRETS_DIR: cannot write \S+\/secrets/,
    env: ({ dir }) => ({
      PREFLIGHT_SECRETS_DIR: path.join(writeFiles(dir, { 'not-a-dir': '' }), 'not-a-dir', 'secrets'),
    }),
  },

  // ---- stores ----
  {
    name: 'PostgreSQL unreachable',
    category: 'store',
    input: '`DATABASE_URL` with port 1 (nothing listens), `PREFLIGHT_WAIT_TIMEOUT=2s`',
    code: 69,
    message:
      /^PostgreSQL at 127\.0\.0\.1:1 \(database test_\w+\) not reachable within 2s: (connect ECONNREFUSED|no answer within \d+ms)/,
    env: ({ stack, db }) => ({
      DATABASE_URL: pgUrl('postgres', stack.postgres.password, '127.0.0.1', 1, db.name),
      PREFLIGHT_WAIT_TIMEOUT: '2s',
    }),
  },
  {
    name: 'PostgreSQL wrong password',
    category: 'store',
    input: '`DATABASE_URL` with a wrong password',
    code: 78,
    message: /^PostgreSQL at .* rejected the credentials of user postgres: check DATABASE_URL/,
    env: ({ stack, db }) => ({
      DATABASE_URL: pgUrl('postgres', 'wrong-password', stack.postgres.host, stack.postgres.port, db.name),
    }),
  },
  {
    name: 'PostgreSQL database that does not exist',
    category: 'store',
    input: '`DATABASE_URL=.../<missing database>`, `PREFLIGHT_CREATE_DATABASE` unset',
    code: 78,
    message:
      /^PostgreSQL at \S+ \(database test_\w+_missing\): database "test_\w+_missing" does not exist: create it, fix the name, or set PREFLIGHT_CREATE_DATABASE=true/,
    env: ({ stack, db }) => ({
      DATABASE_URL: pgUrl(
        'postgres',
        stack.postgres.password,
        stack.postgres.host,
        stack.postgres.port,
        `${db.name}_missing`,
      ),
      // Refused at once: the timeout only spares a loaded machine a spurious "no answer".
      PREFLIGHT_WAIT_TIMEOUT: '30s',
    }),
    verify: async ({ db }) => {
      assert.deepEqual(
        await db.query('SELECT datname FROM pg_database WHERE datname = $1', [`${db.name}_missing`]),
        [],
        'the missing database was created',
      );
    },
  },
  {
    name: 'PostgreSQL TLS required but not offered',
    category: 'store',
    input: '`DATABASE_URL=...?sslmode=require` against a server without TLS',
    code: 78,
    message: /^PostgreSQL at .* does not accept TLS, which sslmode=require requires/,
    env: ({ db }) => ({ DATABASE_URL: `${db.url}?sslmode=require`, PREFLIGHT_WAIT_TIMEOUT: '30s' }),
  },
  {
    name: 'etcd unreachable',
    category: 'store',
    input: '`ETCD_ENDPOINTS=http://root:<password>@127.0.0.1:1` (credentials in the URL), `PREFLIGHT_WAIT_TIMEOUT=8s`',
    code: 69,
    message: /^etcd at http:\/\/root:\*\*\*@127\.0\.0\.1:1 not reachable within 8s/,
    env: ({ stack }) => ({
      ETCD_ENDPOINTS: `http://root:${encodeURIComponent(stack.etcd.password)}@127.0.0.1:1`,
      PREFLIGHT_WAIT_TIMEOUT: '8s',
    }),
  },
  {
    name: 'etcd wrong password',
    category: 'store',
    input: '`ETCD_PASSWORD` wrong',
    code: 78,
    message: /^etcd at .*: etcd refused the credentials: .* — check ETCD_USERNAME, ETCD_PASSWORD/,
    env: () => ({ ETCD_PASSWORD: 'wrong-password' }),
  },
  {
    name: 'etcd credentials missing',
    category: 'store',
    input: 'no `ETCD_USERNAME`/`ETCD_PASSWORD` for an etcd with authentication on',
    code: 78,
    message: /^etcd at .*ETCD_USERNAME/,
    env: () => ({ ETCD_USERNAME: undefined, ETCD_PASSWORD: undefined, PREFLIGHT_WAIT_TIMEOUT: '20s' }),
  },
  {
    name: 'Redis unreachable',
    category: 'store',
    input: '`REDIS_URL=redis://:<password>@127.0.0.1:1/0`, `PREFLIGHT_WAIT_TIMEOUT=8s`',
    code: 69,
    message: /^Redis at 127\.0\.0\.1:1\/0 not reachable within 8s/,
    env: ({ stack }) => ({
      REDIS_URL: `redis://:${encodeURIComponent(stack.redis.password)}@127.0.0.1:1/0`,
      PREFLIGHT_WAIT_TIMEOUT: '8s',
    }),
  },
  {
    name: 'Redis wrong password',
    category: 'store',
    input: '`REDIS_URL` with a wrong password',
    code: 78,
    message: /^Redis at .* rejected the credentials: check REDIS_URL or REDIS_PASSWORD/,
    env: ({ stack, redis }) => ({
      REDIS_URL: `redis://:wrong-password@${stack.redis.host}:${stack.redis.port}/${redis.index}`,
    }),
  },
  {
    name: 'Redis without the required persistence',
    category: 'store',
    input: '`PREFLIGHT_REDIS_PERSISTENCE=rdb` against a Redis with AOF only',
    code: 69,
    message:
      /^Redis would lose data on restart: persistence is aof, PREFLIGHT_REDIS_PERSISTENCE=rdb needs RDB snapshots/,
    env: () => ({ PREFLIGHT_REDIS_PERSISTENCE: 'rdb' }),
  },
  {
    name: 'Redis database index out of range',
    category: 'store',
    input: '`REDIS_URL=redis://...:6379/5000` (the server has 1024 databases)',
    code: 78,
    message: /REDIS_URL.*5000/,
    env: ({ stack }) => ({
      REDIS_URL: `redis://:${encodeURIComponent(stack.redis.password)}@${stack.redis.host}:${stack.redis.port}/5000`,
    }),
  },

  // ---- fixture files (all validated before anything is written) ----
  {
    name: 'fixture YAML syntax error',
    category: 'fixture file',
    input: 'a fixture file with an unclosed quote',
    code: 65,
    message: /20-bad\.yaml:\d+:\d+: \S/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: x\ndata:\n  a: "unclosed\n' }),
  },
  {
    name: 'fixture unknown mode',
    category: 'fixture file',
    input: '`mode: upsert`',
    code: 65,
    message: /20-bad\.yaml:2:\d+: unknown mode "upsert": use merge, replace or create-only/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: x\nmode: upsert\ndata:\n  a: "1"\n' }),
  },
  {
    name: 'fixture list value',
    category: 'fixture file',
    input: '`hosts: [a, b]`',
    code: 65,
    message: /20-bad\.yaml:3:\d+: lists are not supported \(key x\/hosts\)/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: x\ndata:\n  hosts: [a, b]\n' }),
  },
  {
    name: 'fixture duplicate key',
    category: 'fixture file',
    input: 'the same key twice in one map',
    code: 65,
    message: /20-bad\.yaml:4:\d+: duplicate key "a" \(first at line 3\)/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: x\ndata:\n  a: "1"\n  a: "2"\n' }),
  },
  {
    name: 'fixture reserved key',
    category: 'fixture file',
    input: '`_preflight: { fixtures: ... }` under `prefix: ""`',
    code: 65,
    message: /20-bad\.yaml:4:\d+: key _preflight\/fixtures is under "_preflight"/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: ""\ndata:\n  _preflight:\n    fixtures: forged\n' }),
  },
  {
    name: 'fixture key defined in two files',
    category: 'fixture file',
    input: '`good/a` in `10-good.yaml` and in `20-bad.yaml`',
    code: 65,
    message: /20-bad\.yaml:3:\d+: key good\/a is also defined in \S*10-good\.yaml:3:\d+/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: good\ndata:\n  a: "2"\n' }),
  },
  {
    name: 'fixture replace over another file',
    category: 'fixture file',
    input: "`mode: replace` at the root, which would delete `10-good.yaml`'s keys",
    code: 65,
    message:
      /10-good\.yaml:3:\d+: key good\/a lies under prefix "" of \S*20-bad\.yaml, whose mode replace would delete it/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: ""\nmode: replace\ndata:\n  other: "1"\n' }),
  },
  {
    name: 'fixture variable not set',
    category: 'fixture file',
    input: '`${UNSET_FIXTURE_VAR}` with no default',
    code: 78,
    message: /20-bad\.yaml:3: \$\{UNSET_FIXTURE_VAR\} is not set \(key x\/mount\)/,
    env: (ctx) => fixtures(ctx, { '20-bad.yaml': 'prefix: x\ndata:\n  mount: ${UNSET_FIXTURE_VAR}\n' }),
  },
  {
    name: 'fixture file that is a dangling symlink',
    category: 'fixture file',
    input: '`20-bad.yaml` → a file that does not exist (a broken ConfigMap mount)',
    code: 78,
    message: /\S+\/20-bad\.yaml: cannot read the fixture file/,
    env: (ctx) => {
      const found = fixtures(ctx, {});
      fs.symlinkSync('/nonexistent/20-bad.yaml', path.join(found.PREFLIGHT_FIXTURES, '20-bad.yaml'));
      return found;
    },
  },

  // ---- migrations ----
  {
    name: 'migration that fails',
    category: 'migration',
    input: 'a migration running `SELECT * FROM no_such_table`',
    code: 70,
    message:
      /^migration Broken1800000000001 failed: relation "no_such_table" does not exist \(rolled back, nothing recorded/,
    env: (ctx) =>
      migrations(ctx, [
        migrationSource(
          'Broken1800000000001',
          `    await queryRunner.query('CREATE TABLE half (id int)');\n    await queryRunner.query('SELECT * FROM no_such_table');`,
        ),
      ]),
    leavesEmptyBookkeeping: true,
  },
  {
    name: 'migration file with a syntax error',
    category: 'migration',
    input: 'a compiled migration that does not parse (no manifest)',
    code: 65,
    message: /^migration file 1800000000001-Broken\.js cannot be loaded: /,
    env: (ctx) =>
      migrations(ctx, [
        ['1800000000001-Broken.js', 'exports.Broken1800000000001 = class Broken1800000000001 { async up(q) {'],
      ]),
  },
  {
    name: 'migration without a timestamp',
    category: 'migration',
    input: 'class `AddThings` (no 13-digit timestamp)',
    code: 65,
    message: /^migration AddThings in x\.js has no 13-digit timestamp/,
    env: (ctx) => migrations(ctx, [['x.js', 'exports.X = class AddThings { async up() {} async down() {} };\n']]),
  },
  {
    name: 'two migrations with one timestamp',
    category: 'migration',
    input: '`One1800000000001` and `Two1800000000001`',
    code: 65,
    message: /^migrations One1800000000001 \(\S+\) and Two1800000000001 \(\S+\) share a name or timestamp/,
    env: (ctx) => migrations(ctx, [migrationSource('One1800000000001', ''), migrationSource('Two1800000000001', '')]),
  },
  {
    name: 'non-transactional migration in one transaction',
    category: 'migration',
    input: '`transaction = false` with `PREFLIGHT_TRANSACTION=all`',
    code: 65,
    message:
      /^migration Concurrent1800000000001 sets transaction = false, which PREFLIGHT_TRANSACTION=all cannot honour/,
    env: (ctx) => ({
      ...migrations(ctx, [
        migrationSource('Concurrent1800000000001', `    await queryRunner.query('CREATE TABLE c (id int)');`, {
          transaction: false,
        }),
      ]),
      PREFLIGHT_TRANSACTION: 'all',
    }),
  },
  {
    name: 'manifest that is not JSON',
    category: 'migration',
    input: '`preflight-manifest.json` containing `{not json`',
    code: 65,
    message: /preflight-manifest\.json/,
    env: (ctx) => migrations(ctx, [['preflight-manifest.json', '{not json']]),
  },
  {
    name: 'manifest naming a missing file',
    category: 'migration',
    input: 'the manifest lists `missing.js`, which is not there',
    code: 65,
    message: /preflight-manifest\.json lists missing\.js, which is not there: rebuild, or run preflight manifest/,
    env: (ctx) =>
      migrations(ctx, [
        [
          'preflight-manifest.json',
          JSON.stringify({
            version: 2,
            migrations: [
              { name: 'Gone1800000000001', timestamp: 1800000000001, file: 'missing.js', checksum: '0'.repeat(64) },
            ],
          }),
        ],
      ]),
  },
  {
    name: 'baseline without its header',
    category: 'migration',
    input: '`baseline.sql` beside the migrations without its `-- preflight baseline:` first line',
    code: 65,
    message: /baseline\.sql is not a preflight baseline \(no header\): regenerate it with preflight baseline/,
    env: (ctx) => ({
      ...migrations(ctx, [first, ['baseline.sql', 'CREATE TABLE first (id int);\n']]),
      PREFLIGHT_BASELINE: 'true',
    }),
  },
  {
    name: 'baseline with failing SQL',
    category: 'migration',
    input: '`baseline.sql` whose SQL fails half-way',
    code: 70,
    message:
      /^baseline \S+baseline\.sql failed: relation "missing" does not exist \(rolled back; set PREFLIGHT_BASELINE=false/,
    env: (ctx) => ({
      ...migrations(ctx, [
        first,
        [
          'baseline.sql',
          '-- preflight baseline: {"migrations": ["First1800000000001"]}\nCREATE TABLE first (id int);\nINSERT INTO missing VALUES (1);\n',
        ],
      ]),
      PREFLIGHT_BASELINE: 'true',
    }),
  },
  {
    name: 'baseline header that is not JSON',
    category: 'migration',
    input: '`baseline.sql` starting `-- preflight baseline: {migrations`',
    code: 65,
    message: /baseline\.sql/,
    env: (ctx) => ({
      ...migrations(ctx, [
        first,
        ['baseline.sql', '-- preflight baseline: {migrations\nCREATE TABLE first (id int);\n'],
      ]),
      PREFLIGHT_BASELINE: 'true',
    }),
  },
  {
    name: 'migration edited after it was applied',
    category: 'migration',
    input: '`First1800000000001` changed since an earlier run applied it, plus a new pending migration',
    code: 65,
    message: /^migration First1800000000001 changed after it was applied \(checksum differs\)/,
    prepare: async (ctx, env) => {
      await runOk({ ...env, ...migrations(ctx, [first]) });
      writeFiles(
        path.join(ctx.dir, 'migrations'),
        Object.fromEntries([[first[0], first[1].replace('(id int)', '(id bigint)')], newer]),
      );
    },
    env: ({ dir }) => ({ PREFLIGHT_MIGRATIONS: path.join(dir, 'migrations') }),
  },
  {
    name: 'pending migration older than the newest applied',
    category: 'migration',
    input: '`Older1800000000005` added after `Newer1800000000009` was applied',
    code: 65,
    message:
      /^pending migration Older1800000000005 is older than the newest applied one \(Newer1800000000009\).*PREFLIGHT_ALLOW_OUT_OF_ORDER=true/,
    prepare: async (ctx, env) => {
      await runOk({ ...env, ...migrations(ctx, [newer]) });
      writeFiles(
        path.join(ctx.dir, 'migrations'),
        Object.fromEntries([
          migrationSource('Older1800000000005', `    await queryRunner.query('CREATE TABLE older (id int)');`),
        ]),
      );
    },
    env: ({ dir }) => ({ PREFLIGHT_MIGRATIONS: path.join(dir, 'migrations') }),
  },

  // ---- command line ----
  {
    name: 'unknown command',
    category: 'command line',
    input: '`preflight migrate-all`',
    code: 2,
    args: ['migrate-all'],
    message: /^unknown command "migrate-all": expected one of run, /,
  },
  {
    name: 'unknown option',
    category: 'command line',
    input: '`preflight status --jsn`',
    code: 2,
    args: ['status', '--jsn'],
    message: /^preflight status: unknown option --jsn: did you mean --json\?/,
  },
  {
    name: 'down count that is not a number',
    category: 'command line',
    input: '`preflight down two`',
    code: 2,
    args: ['down', 'two'],
    message: /^preflight down: N must be a positive whole number \(got "two"\)/,
  },
  {
    name: 'clear-history with zero retention',
    category: 'command line',
    input: '`preflight clear-history --retention 0`',
    code: 2,
    args: ['clear-history', '--retention', '0'],
    message: /^preflight clear-history: --retention "0": zero would delete all terminated history/,
  },
  {
    name: 'create with a name that makes no class',
    category: 'command line',
    input: '`preflight create 9lives`',
    code: 2,
    args: ['create', '9lives'],
    message: /^preflight create: "9lives" does not make a class name/,
  },
];

// ---------------------------------------------------------------------------------------------

interface StoreState {
  relations: string[];
  schemasAndTypes: string[];
  rows: Record<string, number>;
  etcd: string[];
  redisKeys: number;
}

async function storeState(ctx: CaseContext): Promise<StoreState> {
  const relations = await userRelations(ctx.db.query);
  const tables = await ctx.db.query(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const rows: Record<string, number> = {};
  for (const { name } of tables)
    rows[String(name)] = Number((await ctx.db.query(`SELECT count(*)::int AS n FROM ${String(name)}`))[0].n);
  const kvs = (await ctx.etcd.client.getAll().prefix(`${ctx.etcd.namespace}/`).exec()).kvs;
  return {
    relations,
    schemasAndTypes: await userSchemasAndTypes(ctx.db.query),
    rows,
    etcd: kvs.map((kv) => `${kv.key.toString()}@${kv.mod_revision}`).sort(),
    redisKeys: await ctx.redis.client.dbsize(),
  };
}

/** TypeORM's table and preflight's ledger, with their sequence and indexes, as an exit-70 run may leave them. */
const bookkeeping = new Set([
  'public.migrations',
  'public.migrations_id_seq',
  'public.preflight_migrations',
  'public.preflight_migrations_pkey',
]);

/** The state without the bookkeeping tables, when both exist and are empty. */
function withoutEmptyBookkeeping(state: StoreState): StoreState {
  if (state.rows['public.migrations'] !== 0 || state.rows['public.preflight_migrations'] !== 0) return state;
  const { 'public.migrations': _migrations, 'public.preflight_migrations': _ledger, ...rows } = state.rows;
  const relations = state.relations.filter((name) => !bookkeeping.has(name) && !/^public\.PK_[0-9a-f]{27}$/.test(name));
  return { ...state, rows, relations };
}

function applyOverrides(
  base: Record<string, string>,
  overrides: Record<string, string | undefined>,
): Record<string, string> {
  const env = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** How many report files written by failing runs were checked for the sentinel passwords. */
let reportsChecked = 0;

async function runCase(badInput: BadInput, stack: TestStackInfo, sentinels: string[]): Promise<void> {
  const [db, etcd, redis] = await Promise.all([freshDatabase(), etcdNamespace(), redisDb()]);
  try {
    const dir = tempDir('preflight-bad-input-');
    const base = {
      ...(await preflightEnv({ db, etcd, redis })),
      STORAGE_MOUNT: '/mnt/vfroot',
      // Generous: on a loaded machine a reachable store can take seconds to answer.
      PREFLIGHT_WAIT_TIMEOUT: '20s',
      PREFLIGHT_REPORT_FILE: path.join(dir, 'report.json'),
    };
    const ctx: CaseContext = { stack, db, etcd, redis, dir, base };
    await badInput.prepare?.(ctx, base);
    const before = await storeState(ctx);
    if (!badInput.prepare) {
      assert.deepEqual(
        before,
        { relations: [], schemasAndTypes: [], rows: {}, etcd: [], redisKeys: 0 },
        'a fresh test database, namespace and Redis database are empty',
      );
    }
    fs.rmSync(base.PREFLIGHT_REPORT_FILE, { force: true });
    const env = applyOverrides(base, badInput.env?.(ctx) ?? {});
    const result = await runCli(badInput.args ?? ['run'], env, { cwd: badInput.cwd?.(ctx), timeoutMs: 30_000 });
    const output = `${result.stdout}${result.stderr}`;

    // The secrets first, so a failing case never prints what it leaked.
    assert.deepEqual(leakedSentinels(output, sentinels), [], 'a sentinel password appeared in the output');
    const reportFile = env.PREFLIGHT_REPORT_FILE;
    if (reportFile?.startsWith(dir) && fs.existsSync(reportFile) && fs.statSync(reportFile).isFile()) {
      const text = fs.readFileSync(reportFile, 'utf8');
      reportsChecked += 1;
      assert.deepEqual(leakedSentinels(text, sentinels), [], 'a sentinel password appeared in the report file');
      const report = JSON.parse(text) as { status: string; exitCode: number };
      assert.equal(report.status, 'failed');
      assert.equal(report.exitCode, result.code);
    }

    assert.equal(result.code, badInput.code, `exit code ${result.code}, expected ${badInput.code}:\n${output}`);
    const failed = failures(result);
    assert.equal(failed.length, 1, `expected exactly one job.failed line:\n${output}`);
    const message = String(failed[0].message);
    assert.equal(failed[0].exitCode, badInput.code);
    assert.ok(!message.includes('\n'), `the job.failed message spans several lines:\n${message}`);
    assert.match(message, badInput.message);

    const after = await storeState(ctx);
    assert.deepEqual(
      badInput.leavesEmptyBookkeeping ? withoutEmptyBookkeeping(after) : after,
      before,
      'the stores changed',
    );
    await badInput.verify?.(ctx, result);
  } finally {
    await Promise.all([db.close(), etcd.close(), redis.close()]);
  }
}

// ---------------------------------------------------------------------------------------------

const docPath = path.join(repoRoot, 'docs', 'bad-inputs.md');
const categoryTitles: Record<Category, string> = {
  environment: 'Environment',
  'output file': 'Files preflight writes (report, backup, secrets)',
  store: 'Stores',
  'fixture file': 'Fixture files',
  migration: 'Migrations',
  'command line': 'Command line',
};

/** The regex as a person reads it: escapes of literal characters dropped, `.*`, `\S+`, `\d+` kept. */
function readablePattern(pattern: RegExp): string {
  return pattern.source.replace(/\\([()[\]{}./$*+?^|"-])/g, '$1').replace(/^\^/, '');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderDoc(list: readonly BadInput[]): string {
  const lines = [
    '# Bad inputs',
    '',
    '<!-- Generated from test/reliability/bad-inputs.test.ts; do not edit by hand. Regenerate with',
    '     UPDATE_BAD_INPUTS_DOC=1 node dist/test/support/run-tests.js dist/test/reliability/bad-inputs.test.js -->',
    '',
    'Every bad input below is tested by `test/reliability/bad-inputs.test.ts`, each against an otherwise',
    "complete configuration (PostgreSQL with the platform's migrations pending, etcd with the platform's",
    'fixtures, Redis). Each test asserts:',
    '',
    '- the exit code in the table (see [Exit codes](../README.md#exit-codes));',
    '- exactly one `job.failed` log line, a single line of text, whose `message` matches the pattern in',
    '  the table (`.*` is any text, `\\S+` a path or word, `\\d+` a number): it names the culprit;',
    '- no change in any store: no table, schema or type in the database, no key under `ETCD_NAMESPACE`,',
    '  no key in the Redis database (for the cases that start from an earlier run: exactly what that run',
    "  left). A migration that fails while applying (exit 70) may leave TypeORM's `migrations` table and",
    "  preflight's ledger behind, empty;",
    "- none of the stores' passwords in stdout, stderr or the report file (`PREFLIGHT_REPORT_FILE`).",
    '',
    '| # | input | exit code | message (culprit named) |',
    '| --- | --- | --- | --- |',
  ];
  let category: Category | undefined;
  list.forEach((badInput, index) => {
    if (badInput.category !== category) {
      category = badInput.category;
      lines.push(`| | **${categoryTitles[category]}** | | |`);
    }
    const marker = badInput.todo ? ' ⚠' : '';
    lines.push(
      `| ${index + 1} | ${cell(badInput.name)}: ${cell(badInput.input)} | ${badInput.code}${marker} | \`${cell(readablePattern(badInput.message))}\` |`,
    );
  });
  const deviations = list.filter((badInput) => badInput.todo);
  if (deviations.length > 0) {
    lines.push(
      '',
      '## Known deviations (⚠)',
      '',
      'These cases are tested with `todo`: the code does not do what the table says yet.',
      '',
    );
    for (const badInput of deviations)
      lines.push(`- **${badInput.name}** (#${list.indexOf(badInput) + 1}): ${badInput.todo}.`);
  }
  return `${lines.join('\n')}\n`;
}

test('the catalogue has at least 30 distinct bad inputs, each named once', () => {
  const names = cases.map((badInput) => badInput.name);
  assert.deepEqual(
    names.filter((name, index) => names.indexOf(name) !== index),
    [],
    'duplicate case names',
  );
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
});

test('docs/bad-inputs.md is the table of this catalogue', () => {
  const rendered = renderDoc(cases);
  if (process.env.UPDATE_BAD_INPUTS_DOC === '1') {
    fs.mkdirSync(path.dirname(docPath), { recursive: true });
    fs.writeFileSync(docPath, rendered);
  }
  const written = fs.existsSync(docPath) ? fs.readFileSync(docPath, 'utf8') : '';
  const missing = cases
    .filter((badInput) => !written.includes(`| ${cell(badInput.name)}: `))
    .map((badInput) => badInput.name);
  assert.deepEqual(
    missing,
    [],
    `docs/bad-inputs.md does not list these cases (regenerate it: UPDATE_BAD_INPUTS_DOC=1)`,
  );
  assert.equal(written, rendered, 'docs/bad-inputs.md is out of date (regenerate it: UPDATE_BAD_INPUTS_DOC=1)');
});

test('bad inputs', { concurrency: 4 }, async (t) => {
  const stack = await testStack();
  const sentinels = [stack.postgres.password, stack.etcd.password, stack.redis.password];
  await Promise.all(
    cases.map((badInput) => t.test(badInput.name, { todo: badInput.todo }, () => runCase(badInput, stack, sentinels))),
  );
});

test("report files of the failing runs were checked for the stores' passwords", (t) => {
  t.diagnostic(`${reportsChecked} report files checked`);
  // Every case that gets past configuration writes a report; the check above must have seen them.
  assert.ok(reportsChecked >= 20, `only ${reportsChecked} report files were written and checked`);
});
