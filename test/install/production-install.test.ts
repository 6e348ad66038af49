/**
 * The image contents proof (issue 4, item 5): what `npm pack` ships, installed with production
 * dependencies only into a clean folder (as docker/Dockerfile's production-deps and runtime stages
 * do), runs `preflight run` against the real test servers, on this Node and on the image's Node
 * major (24, from the npm registry's node-<platform>-<arch> package, which ships the binary).
 *
 * The package ships the single-file CLI bundle (dist/bundle, scripts/bundle.mjs) and declares no
 * runtime dependencies: the install holds preflight alone, at most 40 MiB (issue 15). It fails when
 * the bundle misses something it needs at run time or package.json `files` misses a file. It never builds: it packs the dist/ that `npm test` built. It needs the npm registry
 * (or a warm npm cache) and fails, rather than skips, without it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { etcdNamespace, freshDatabase, preflightEnv, redisDb, tempDir, type CliResult } from '../support/context';

/** dist/test/install/ → the repository root and its dist/. */
const repoRoot = path.resolve(__dirname, '../../..');
const repoDist = path.join(repoRoot, 'dist');
const nodeMajor = 24;
const nodeCacheRoot = path.join(os.tmpdir(), `preflight-node${nodeMajor}-cache`);
const testTimeout = 180_000;
/** The package's name on the npm registry (its command is `preflight`). */
const packageName = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string }).name;

/** What a child process left behind: the CLI runner's result without the parsed log lines. */
type Exec = Omit<CliResult, 'lines'>;

function exec(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Exec> {
  const startedAt = Date.now();
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      resolve({
        code,
        signal,
        timedOut,
        durationMs: Date.now() - startedAt,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}

/**
 * The environment for npm: ours without the test stack's passwords (PREFLIGHT_*) and without what
 * `npm test` sets for its script (npm_package_*, npm_lifecycle_*, npm_config_local_prefix), which
 * would tie the child npm to the repository instead of its cwd.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PREFLIGHT_|npm_package_|npm_lifecycle_)/.test(key)) continue;
    if (['npm_config_local_prefix', 'npm_command', 'INIT_CWD'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}

async function npm(args: string[], cwd: string, timeoutMs = 150_000): Promise<Exec> {
  let result: Exec;
  try {
    result = await exec('npm', args, { cwd, env: npmEnv(), timeoutMs });
  } catch (error) {
    throw new Error(`could not start npm (${(error as Error).message}); npm must be on PATH`);
  }
  if (result.code !== 0) {
    const why = result.timedOut ? `timed out after ${timeoutMs} ms` : `exited ${result.code ?? result.signal}`;
    throw new Error(
      `npm ${args.join(' ')} (in ${cwd}) ${why}; this test needs the npm registry or a warm npm cache\n` +
        `--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** `npm pack --json` prints an array with one entry per packed package. */
function packed(stdout: string): {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
} {
  const parsed = JSON.parse(stdout) as Array<{
    filename: string;
    size: number;
    unpackedSize: number;
    files: Array<{ path: string }>;
  }>;
  assert.ok(Array.isArray(parsed) && parsed.length === 1, `npm pack --json printed ${stdout.slice(0, 200)}`);
  return parsed[0];
}

// ---- the production install (once per file) ------------------------------------------------------

interface ProductionInstall {
  dir: string;
  tarball: string;
  tarballBytes: number;
  packedFiles: string[];
  installMs: number;
  packMs: number;
}

let installation: Promise<ProductionInstall> | undefined;
const productionInstall = (): Promise<ProductionInstall> => (installation ??= install());

async function install(): Promise<ProductionInstall> {
  for (const needed of ['bundle/cli/preflight.js', 'migrations']) {
    if (!fs.existsSync(path.join(repoDist, needed))) {
      throw new Error(
        `${path.join(repoDist, needed)} is missing: this test packs the compiled dist/ and never builds it; ` +
          'run it through `npm test` (which builds first) or compile with `npx tsc -p tsconfig.json`',
      );
    }
  }
  const work = tempDir('preflight-install-');
  const packDir = path.join(work, 'pack');
  fs.mkdirSync(packDir);
  // --ignore-scripts: a prepack/prepare script must not rebuild (and so delete) dist/ under other tests.
  const pack = await npm(['pack', '--pack-destination', packDir, '--json', '--ignore-scripts'], repoRoot);
  const info = packed(pack.stdout);
  const tarball = path.join(packDir, info.filename);

  // The Dockerfile's runtime stage: a folder with a package.json and production node_modules only.
  const dir = path.join(work, 'app');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'preflight-production-install', version: '0.0.0', private: true }, null, 2)}\n`,
  );
  const installed = await npm(
    [
      'install',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--prefer-offline',
      '--prefix',
      dir,
      tarball,
    ],
    dir,
  );
  return {
    dir,
    tarball,
    tarballBytes: fs.statSync(tarball).size,
    packedFiles: info.files.map((file) => file.path),
    installMs: installed.durationMs,
    packMs: pack.durationMs,
  };
}

// ---- Node 24 from the npm registry -----------------------------------------------------------------

interface Runtime {
  node: string;
  version: string;
  fetchedMs: number;
  cached: boolean;
}

let node24: Promise<Runtime> | undefined;
const nodeOfImageMajor = (): Promise<Runtime> => (node24 ??= fetchNode(nodeMajor));

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

async function nodeVersionOf(binary: string): Promise<string | undefined> {
  if (!fs.existsSync(binary)) return undefined;
  try {
    const result = await exec(binary, ['--version'], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 30_000,
    });
    return result.code === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest `node-<platform>-<arch>@<major>` (its bin/node is the official binary, no install
 * script needed), cached under os.tmpdir()/preflight-node<major>-cache/<package>-<version>/.
 */
async function fetchNode(major: number): Promise<Runtime> {
  const startedAt = Date.now();
  const pkg = `node-${process.platform}-${process.arch}`;
  const view = await npm(['view', `${pkg}@${major}`, 'version', '--json', '--prefer-offline'], os.tmpdir(), 60_000);
  const listed = JSON.parse(view.stdout) as string | string[];
  const versions = (Array.isArray(listed) ? listed : [listed])
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v))
    .sort(compareVersions);
  const version = versions.at(-1);
  if (version === undefined)
    throw new Error(
      `the npm registry lists no ${pkg}@${major} release (npm view printed ${view.stdout.slice(0, 200)})`,
    );

  fs.mkdirSync(nodeCacheRoot, { recursive: true });
  const finalDir = path.join(nodeCacheRoot, `${pkg}-${version}`);
  const binary = path.join(finalDir, 'bin', 'node');
  if ((await nodeVersionOf(binary)) === `v${version}`)
    return { node: binary, version, fetchedMs: Date.now() - startedAt, cached: true };

  fs.rmSync(finalDir, { recursive: true, force: true });
  const staging = fs.mkdtempSync(path.join(nodeCacheRoot, '.staging-'));
  try {
    const pack = await npm(
      ['pack', `${pkg}@${version}`, '--pack-destination', staging, '--json', '--ignore-scripts', '--prefer-offline'],
      staging,
      300_000,
    );
    const tgz = path.join(staging, packed(pack.stdout).filename);
    const tar = await exec('tar', ['-xzf', tgz, '-C', staging, 'package/bin/node'], {
      cwd: staging,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 120_000,
    });
    if (tar.code !== 0) throw new Error(`tar -xzf ${tgz} package/bin/node exited ${tar.code}: ${tar.stderr}`);
    fs.chmodSync(path.join(staging, 'package', 'bin', 'node'), 0o755);
    try {
      fs.renameSync(path.join(staging, 'package'), finalDir);
    } catch (error) {
      // Another run put it there first; theirs is checked below like ours would be.
      if (!fs.existsSync(binary)) throw error;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  // Older releases of the same package are dead weight in /tmp.
  for (const entry of fs.readdirSync(nodeCacheRoot)) {
    if (entry.startsWith(`${pkg}-`) && entry !== `${pkg}-${version}`)
      fs.rmSync(path.join(nodeCacheRoot, entry), { recursive: true, force: true });
  }
  const reported = await nodeVersionOf(binary);
  assert.equal(reported, `v${version}`, `${binary} --version`);
  return { node: binary, version, fetchedMs: Date.now() - startedAt, cached: false };
}

// ---- what is installed --------------------------------------------------------------------------

interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
  /** dependencies, optionalDependencies and peerDependencies: what this package asks npm for */
  requires: string[];
}

function installedPackages(nodeModules: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visit = (modulesDir: string): void => {
    if (!fs.existsSync(modulesDir)) return;
    for (const entry of fs.readdirSync(modulesDir)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@')
        ? fs.readdirSync(path.join(modulesDir, entry)).map((scoped) => path.join(modulesDir, entry, scoped))
        : [path.join(modulesDir, entry)];
      for (const dir of dirs) {
        const manifestPath = path.join(dir, 'package.json');
        if (!fs.existsSync(manifestPath)) continue;
        const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {
          name: string;
          version: string;
          dependencies?: Record<string, string>;
          optionalDependencies?: Record<string, string>;
          peerDependencies?: Record<string, string>;
        };
        found.push({
          name: manifest.name,
          version: manifest.version,
          dir,
          requires: Object.keys({
            ...manifest.dependencies,
            ...manifest.optionalDependencies,
            ...manifest.peerDependencies,
          }),
        });
        visit(path.join(dir, 'node_modules'));
      }
    }
  };
  visit(nodeModules);
  return found;
}

async function duKiB(paths: string[], cwd: string): Promise<number[]> {
  const result = await exec('du', ['-sk', ...paths], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 60_000,
  });
  assert.equal(result.code, 0, `du -sk: ${result.stderr}`);
  const sizes = new Map(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [kib, ...rest] = line.split('\t');
        return [rest.join('\t'), Number(kib)] as const;
      }),
  );
  return paths.map((p) => sizes.get(p) ?? Number.NaN);
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

/** The platform's migrations in the repository's build, as TypeORM's `migrations` table names them. */
function migrationFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.js'))
    .sort();
}
function migrationNames(dir: string): string[] {
  return migrationFiles(dir).map((file) => {
    const [timestamp, name] = path.basename(file, '.js').split('-');
    return `${name}${timestamp}`;
  });
}

// ---- running the installed preflight -------------------------------------------------------------

/** What the installed CLI printed goes where run-tests scans for leaked passwords. */
async function capture(label: string, result: Exec): Promise<void> {
  const dir = process.env.PREFLIGHT_TEST_CAPTURE_DIR;
  if (!dir) return;
  const header = `=== ${label} → code ${result.code} signal ${result.signal} (${result.durationMs} ms)`;
  await fs.promises.appendFile(
    path.join(dir, `cli-install-${process.pid}.log`),
    `${header}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}\n`,
  );
}

/**
 * `preflight run` from the production install, cwd = the install folder, on a fresh database,
 * etcd namespace and Redis database; asserts exit 0, every platform migration recorded and the
 * volumes fixture in etcd.
 */
async function runInstalled(appDir: string, command: string, args: string[], nodeBinDir: string): Promise<Exec> {
  const [db, etcd, redis] = await Promise.all([freshDatabase(), etcdNamespace(), redisDb()]);
  try {
    const reportFile = path.join(tempDir('preflight-install-report-'), 'report.json');
    const base = await preflightEnv({ db, etcd, redis });
    const env = {
      ...base,
      // `#!/usr/bin/env node` in the bin script must find the runtime under test first.
      PATH: `${nodeBinDir}${path.delimiter}${base.PATH}`,
      NODE_ENV: 'production', // as the image sets it
      STORAGE_MOUNT: '/mnt/vfroot',
      PREFLIGHT_REPORT_FILE: reportFile,
    };
    const result = await exec(command, args, { cwd: appDir, env, timeoutMs: 60_000 });
    await capture(`${path.relative(appDir, command) || command} ${args.join(' ')}`, result);
    assert.equal(
      result.code,
      0,
      `installed preflight exited ${result.code ?? result.signal}${result.timedOut ? ' (timed out)' : ''}\n${result.stdout}\n${result.stderr}`,
    );
    const recorded = (await db.query('SELECT name FROM migrations ORDER BY id')).map((row) => String(row.name));
    assert.deepEqual(recorded, migrationNames(path.join(repoDist, 'migrations')), 'every platform migration recorded');
    assert.equal(
      await etcd.client.get(`${etcd.namespace}/volumes/_mount`).string(),
      '/mnt/vfroot',
      `${etcd.namespace}/volumes/_mount`,
    );
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { status: string };
    assert.equal(report.status, 'ok', fs.readFileSync(reportFile, 'utf8'));
    return result;
  } finally {
    await Promise.all([db.close(), etcd.close(), redis.close()]);
  }
}

// ---- the tests ------------------------------------------------------------------------------------

test(
  'the packed tarball, installed with --omit=dev into a clean folder, runs `preflight run` against the real servers',
  { timeout: testTimeout },
  async (t) => {
    // Fetch Node 24 while npm installs; the next test awaits it (and reports its failure).
    nodeOfImageMajor().catch(() => undefined);
    const app = await productionInstall();
    const installedRoot = path.join(app.dir, 'node_modules', packageName);

    // What `files` ships: the compiled CLI, every compiled platform migration, the fixtures.
    assert.ok(
      fs.existsSync(path.join(installedRoot, 'dist/bundle/cli/preflight.js')),
      'dist/bundle/cli/preflight.js is in the package',
    );
    assert.deepEqual(
      app.packedFiles.filter((file) => file.startsWith('dist/src/') && !file.endsWith('.d.ts')).sort(),
      ['dist/src/postgres/invalid-index.js', 'dist/src/postgres/migration-context.js'],
      'dist/src ships type declarations and the two helpers platform migrations import; the CLI and library are the bundle',
    );
    assert.deepEqual(
      migrationFiles(path.join(installedRoot, 'dist/migrations')),
      migrationFiles(path.join(repoDist, 'migrations')),
      'the package ships the same compiled migrations as the repository build',
    );
    const repoFixtures = fs.readdirSync(path.join(repoRoot, 'fixtures/etcd')).sort();
    const installedFixtures = path.join(installedRoot, 'fixtures/etcd');
    assert.ok(fs.existsSync(installedFixtures), 'fixtures/etcd is not in the package: add it to package.json `files`');
    assert.deepEqual(fs.readdirSync(installedFixtures).sort(), repoFixtures, 'the package ships every etcd fixture');
    assert.ok(
      !app.packedFiles.some((file) =>
        /^(test|src|migrations|bench|scripts)\/|^dist\/(test|bench|scripts)\//.test(file),
      ),
      `the tarball holds sources or tests: ${app.packedFiles.filter((file) => /^(test|src|migrations|bench|scripts)\/|^dist\/(test|bench|scripts)\//.test(file)).join(', ')}`,
    );

    // The bundle carries every runtime dependency: nothing else is installed, nothing is declared.
    const packages = installedPackages(path.join(app.dir, 'node_modules'));
    const installedManifest = JSON.parse(fs.readFileSync(path.join(installedRoot, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    assert.deepEqual(
      {
        ...installedManifest.dependencies,
        ...installedManifest.optionalDependencies,
        ...installedManifest.peerDependencies,
      },
      {},
      'the package declares no runtime dependencies (they are bundled)',
    );
    assert.deepEqual(
      packages.map((p) => p.name),
      [packageName],
      'the production install holds preflight alone',
    );

    const result = await runInstalled(
      app.dir,
      path.join(app.dir, 'node_modules', '.bin', 'preflight'),
      ['run'],
      path.dirname(process.execPath),
    );
    assert.ok(
      result.stdout.includes('"job.finished"') || result.stderr.includes('"job.finished"'),
      'a job.finished event',
    );

    // Figures: the tarball, the installed tree and its biggest packages.
    const nodeModules = path.join(app.dir, 'node_modules');
    const [totalKiB] = await duKiB(['node_modules'], app.dir);
    assert.ok(totalKiB <= 40 * 1024, `the production install takes ${mib(totalKiB)} MiB on disk, more than 40 MiB`);
    const topLevel = packages.filter(
      (p) => path.dirname(p.dir) === nodeModules || path.dirname(path.dirname(p.dir)) === nodeModules,
    );
    const sizes = await duKiB(
      topLevel.map((p) => path.relative(app.dir, p.dir)),
      app.dir,
    );
    const biggest = topLevel
      .map((p, i) => ({ p, kib: sizes[i] }))
      .sort((a, b) => b.kib - a.kib)
      .slice(0, 10);
    t.diagnostic(
      `node ${process.version}: tarball ${(app.tarballBytes / 1024).toFixed(1)} KiB (${app.packedFiles.length} files, npm pack ${app.packMs} ms); ` +
        `npm install --omit=dev ${(app.installMs / 1000).toFixed(1)} s; preflight run ${result.durationMs} ms`,
    );
    t.diagnostic(`installed node_modules: ${mib(totalKiB)} MiB in ${packages.length} packages`);
    t.diagnostic(`largest: ${biggest.map(({ p, kib }) => `${p.name} ${mib(kib)}`).join(', ')} (MiB)`);
  },
);

test(
  `the same install runs \`preflight run\` under Node ${nodeMajor}, the image's runtime`,
  { timeout: testTimeout },
  async (t) => {
    const [app, runtime] = await Promise.all([productionInstall(), nodeOfImageMajor()]);
    const reported = await nodeVersionOf(runtime.node);
    assert.ok(reported?.startsWith(`v${nodeMajor}.`), `${runtime.node} --version printed ${reported}`);
    const main = path.join(app.dir, 'node_modules', packageName, 'dist', 'bundle', 'cli', 'preflight.js');
    const probe = await exec(runtime.node, ['-p', 'process.version'], {
      cwd: app.dir,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 30_000,
    });
    assert.equal(probe.stdout.trim(), reported, 'process.version of the runtime');
    const result = await runInstalled(app.dir, runtime.node, [main, 'run'], path.dirname(runtime.node));
    t.diagnostic(
      `node ${reported} (node-${process.platform}-${process.arch}@${runtime.version}, ${runtime.cached ? 'cached' : 'downloaded'} in ${runtime.fetchedMs} ms, ` +
        `${nodeCacheRoot}); preflight run ${result.durationMs} ms`,
    );
  },
);

test(
  '`npx <packed tarball>` in a clean project prints the version and runs `preflight run`',
  { timeout: testTimeout },
  async () => {
    const app = await productionInstall();
    const clean = tempDir('preflight-npx-');
    fs.writeFileSync(path.join(clean, 'package.json'), '{ "name": "clean-project", "private": true }\n');
    // `file:<tarball>` is the package spec `npx typeorm-preflight` resolves from the registry; npx
    // runs the package's single bin, `preflight`. A bare path would be taken for a command.
    const spec = `file:${app.tarball}`;
    const version = await exec('npx', ['--yes', spec, '--version'], {
      cwd: clean,
      env: npmEnv(),
      timeoutMs: 120_000,
    });
    const expected = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
    assert.equal(version.code, 0, `npx --yes ${spec} --version: ${version.stdout}${version.stderr}`);
    assert.equal(version.stdout.trim(), expected);
    await runInstalled(clean, 'npx', ['--yes', spec, 'run'], path.dirname(process.execPath));
    assert.ok(!fs.existsSync(path.join(clean, 'node_modules')), 'npx installs nothing into the project');
  },
);
