import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { jobOptions } from '../../src/config/job-options';
import { composeValidator, parseYamlDocuments, repoRoot, type Manifest } from './deploy-files';

const composePath = join(repoRoot, 'compose/docker-compose.yml');
const envFilePath = join(repoRoot, '.env.docker');

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  env_file?: string | string[];
  secrets?: (string | { source: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  restart?: string;
  volumes?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file?: string }>;
}

const readCompose = (text: string) => parseYamlDocuments(text, composePath)[0] as Manifest;
const composeFile = readCompose(readFileSync(composePath, 'utf8')) as unknown as ComposeFile;
const validateCompose = composeValidator();

/** KEY → value of the active lines, and the lines themselves, of a Compose env file. */
function readEnvFile(path: string): { values: Map<string, string>; lines: string[] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const values = new Map<string, string>();
  for (const line of lines) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values.set(match[1], match[2]);
  }
  return { values, lines };
}

function dependencies(service: Service): Map<string, string | undefined> {
  const dependsOn = service.depends_on ?? [];
  return Array.isArray(dependsOn)
    ? new Map(dependsOn.map((name) => [name, undefined]))
    : new Map(Object.entries(dependsOn).map(([name, options]) => [name, options.condition]));
}

/** `depends_on` targets that are not services of the same file. */
function missingDependencies(compose: ComposeFile): string[] {
  return Object.entries(compose.services).flatMap(([name, service]) =>
    [...dependencies(service).keys()]
      .filter((target) => !(target in compose.services))
      .map((target) => `${name} → ${target}`),
  );
}

const secretNames = (service: Service) =>
  (service.secrets ?? []).map((secret) => (typeof secret === 'string' ? secret : secret.source));
const storeServices = ['db', 'etcd', 'redis'];
const placeholderServices = ['server', 'worker', 'scheduler'];

test('the compose file is valid against the Compose Specification schema', () => {
  assert.deepEqual(validateCompose(composeFile), []);
});

test('every depends_on target in the compose file is a service of it', () => {
  assert.deepEqual(missingDependencies(composeFile), []);
});

test('the schema check and the depends_on check reject a misspelt key and a missing service', () => {
  const broken = readCompose(
    [
      'services:',
      '  db-migrations:',
      '    image: preflight:local',
      '    comand: ["run"]',
      '    depends_on: [databse]',
    ].join('\n'),
  ) as unknown as ComposeFile;
  assert.ok(
    validateCompose(broken).some((error) => error.includes('comand')),
    'the misspelt comand: should be rejected',
  );
  assert.deepEqual(missingDependencies(broken), ['db-migrations → databse']);
});

test('the stores use the official image tags, keep their data in volumes and report health', () => {
  const { db, etcd, redis } = composeFile.services;
  assert.equal(db.image, 'postgres:17');
  assert.equal(redis.image, 'redis:7');
  assert.match(etcd.image ?? '', /^(quay\.io\/coreos|gcr\.io\/etcd-development)\/etcd:v3\.5\.\d+$/);
  for (const name of storeServices) {
    assert.ok(composeFile.services[name].healthcheck?.test, `${name} needs a healthcheck`);
    assert.ok((composeFile.services[name].volumes ?? []).length > 0, `${name} needs a volume`);
  }
  assert.ok(JSON.stringify(db.healthcheck?.test).includes('pg_isready'), 'db is healthy when pg_isready says so');
  assert.match(JSON.stringify(redis.command), /--appendonly yes/);
});

test('db-migrations runs once after the stores are healthy, and the services only after it succeeded', () => {
  const job = composeFile.services['db-migrations'];
  assert.equal(job.restart, 'no');
  assert.deepEqual(
    Object.fromEntries(dependencies(job)),
    Object.fromEntries(storeServices.map((name) => [name, 'service_healthy'])),
  );
  for (const name of placeholderServices) {
    const service = composeFile.services[name];
    assert.ok(service, `placeholder service ${name} exists`);
    assert.equal(
      dependencies(service).get('db-migrations'),
      'service_completed_successfully',
      `${name} waits for db-migrations`,
    );
    assert.match(
      JSON.stringify(service.command),
      /dist\/bundle\/cli\/preflight\.js verify/,
      `${name} runs preflight verify`,
    );
  }
});

test('passwords reach containers as compose secrets and *_FILE variables, never as plain values', () => {
  const declared = composeFile.secrets ?? {};
  for (const [name, secret] of Object.entries(declared)) {
    assert.ok(secret.file && existsSync(resolve(dirname(composePath), secret.file)), `secret ${name} file exists`);
  }
  const { values } = readEnvFile(envFilePath);
  for (const [name, service] of Object.entries(composeFile.services)) {
    for (const secret of secretNames(service))
      assert.ok(secret in declared, `${name} uses undeclared secret ${secret}`);
    const environment = Array.isArray(service.environment)
      ? service.environment
      : Object.keys(service.environment ?? {});
    for (const variable of environment) {
      assert.doesNotMatch(variable, /PASSWORD(=|$)/, `${name} sets a password in plain environment`);
    }
    if (!service.env_file) continue;
    for (const [variable, value] of values) {
      if (!variable.endsWith('_FILE')) continue;
      const secret = /^\/run\/secrets\/([^/]+)$/.exec(value)?.[1];
      assert.ok(
        secret && secretNames(service).includes(secret),
        `${name}: ${variable}=${value} is not one of its secrets`,
      );
    }
  }
  for (const [variable, value] of values) {
    assert.doesNotMatch(
      variable,
      /^(PGPASSWORD|ETCD_PASSWORD|REDIS_PASSWORD|DATABASE_URL)$/,
      `.env.docker sets ${variable} in plain text`,
    );
    assert.doesNotMatch(value, /:\/\/[^/@\s]*:[^/@\s]*@/, `.env.docker ${variable} embeds credentials in a URL`);
  }
});

test('.env.docker documents every variable and uses only options preflight knows', () => {
  const { values, lines } = readEnvFile(envFilePath);
  const known = new Set(Object.keys(jobOptions));
  lines.forEach((line, index) => {
    const variable = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
    if (!variable) return;
    if (variable.startsWith('PREFLIGHT_'))
      assert.ok(known.has(variable), `.env.docker: unknown ${variable} would fail with exit 78`);
    let above = index - 1;
    while (above >= 0 && /^#\s*[A-Z][A-Z0-9_]*=/.test(lines[above])) above -= 1;
    const comment = above >= 0 ? lines[above] : '';
    assert.ok(
      /^#\s+\S/.test(comment) && !/^#\s*-{2,}/.test(comment),
      `.env.docker: ${variable} has no comment above it`,
    );
  });
  // The database the job migrates is the one the db service creates.
  const db = composeFile.services.db.environment as Record<string, string>;
  assert.equal(values.get('PGUSER'), db.POSTGRES_USER);
  assert.equal(values.get('PGDATABASE'), db.POSTGRES_DB);
  assert.equal(values.get('PGHOST'), 'db');
});

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

test('docker-compose accepts the compose file (config -q)', (t) => {
  if (!onPath('docker-compose')) {
    t.skip('docker-compose is not installed (apt-get install docker-compose); the schema test above still ran');
    return;
  }
  const result = spawnSync('docker-compose', ['-f', composePath, 'config', '-q'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 0, `docker-compose config -q failed:\n${result.stderr}`);
});
