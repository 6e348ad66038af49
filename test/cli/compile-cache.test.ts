import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cliPath, runCli, tempDir } from '../support/context';

/** Node >= 22.1 has its own compile cache, which the launcher turns on instead of its own. */
const nodeHasCompileCache =
  typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const byHand = {
  skip: nodeHasCompileCache ? 'Node has module.enableCompileCache; the by-hand cache is for Node 20' : false,
};

const baseEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  NODE_DEBUG: 'preflight_compile_cache',
  TMPDIR: tempDir('preflight-tmp-'),
});

/** `preflight --help` with the cache's debug log on: exit code, output, and what happened to the bundle's file. */
async function help(env: Record<string, string>) {
  const result = await runCli(['--help'], env);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /preflight/);
  const about = (file: string) =>
    result.stderr
      .split('\n')
      .filter((line) => line.startsWith('PREFLIGHT_COMPILE_CACHE') && line.includes(`${file}:`))
      .map((line) => line.slice(line.indexOf(`${file}:`) + file.length + 2));
  return { stdout: result.stdout, main: about('cli/preflight-main.js'), stderr: result.stderr };
}

/** The cache file of dist/bundle/cli/preflight-main.js in `folder` (named after the SHA-1 of its path and source). */
function mainCacheFile(folder: string): string {
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const file = path.join(path.dirname(cliPath), 'preflight-main.js');
  const source = fs.readFileSync(file, 'utf8');
  const name = `${crypto.createHash('sha1').update(`${file}\0${source}`).digest('hex')}.cache`;
  return path.join(folder, `preflight-${process.version}-${process.arch}`, name);
}

const cacheFiles = (folder: string) =>
  fs.existsSync(folder)
    ? fs
        .readdirSync(folder, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => path.join(entry.parentPath, entry.name))
    : [];

test('the first run writes the code cache, the second uses it (NODE_COMPILE_CACHE)', async () => {
  const folder = path.join(tempDir(), 'cache');
  const env = { ...baseEnv(), NODE_COMPILE_CACHE: folder };
  const first = await help(env);
  if (nodeHasCompileCache) {
    // Node's own cache: the launcher left it to Node, which wrote it
    assert.ok(cacheFiles(folder).length > 0, 'Node wrote no compile cache');
    return;
  }
  assert.deepEqual(first.main, ['no cache', 'cache written']);
  assert.ok(fs.existsSync(mainCacheFile(folder)));
  const second = await help(env);
  assert.deepEqual(second.main, ['cachedDataRejected false']);
  assert.equal(second.stdout, first.stdout);
});

test(
  'without NODE_COMPILE_CACHE: a private folder of this user in the temp dir; one others may write to is not used',
  byHand,
  async () => {
    const env = baseEnv();
    await help(env);
    const folder = path.join(env.TMPDIR, `preflight-compile-cache-${process.getuid?.()}`);
    assert.equal(fs.statSync(folder).mode & 0o777, 0o700);
    assert.deepEqual((await help(env)).main, ['cachedDataRejected false']);
    fs.chmodSync(folder, 0o777);
    const shared = await help(env);
    assert.deepEqual(shared.main, []);
    assert.match(shared.stderr, /no cache folder/);
  },
);

test('a cache folder that cannot be made or written: the run goes on without a cache', byHand, async () => {
  for (const folder of ['/dev/null/cache', path.join(tempDir(), 'missing', 'deeper')]) {
    const result = await help({ ...baseEnv(), NODE_COMPILE_CACHE: folder });
    assert.equal(result.main[0], 'no cache', folder);
    assert.match(result.main[1], /^cache not written: (ENOTDIR|ENOENT)/, folder);
  }
  const result = await help({ ...baseEnv(), NODE_DISABLE_COMPILE_CACHE: '1' });
  assert.deepEqual(result.main, []);
});

test('a corrupt cache file, and one V8 rejects, are ignored and rewritten', byHand, async () => {
  const folder = path.join(tempDir(), 'cache');
  const env = { ...baseEnv(), NODE_COMPILE_CACHE: folder };
  const expected = (await help(env)).stdout;
  const file = mainCacheFile(folder);

  fs.writeFileSync(file, Buffer.from('not a code cache at all, not even its checksum'));
  const corrupt = await help(env);
  assert.deepEqual(corrupt.main, ['cache file corrupt, ignored', 'no cache', 'cache written']);
  assert.equal(corrupt.stdout, expected);

  // a well-formed file made from other source: V8 refuses it (its source check)
  const vm = require('node:vm') as typeof import('node:vm');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const other = new vm.Script('(function () { return 42; })').createCachedData();
  fs.writeFileSync(file, Buffer.concat([crypto.createHash('sha1').update(other).digest(), other]));
  const rejected = await help(env);
  assert.deepEqual(rejected.main, ['cachedDataRejected true', 'cache written']);
  // a cache unwritten for more than a week goes when another is written
  const stale = path.join(path.dirname(file), `${'0'.repeat(40)}.cache`);
  fs.writeFileSync(stale, 'old');
  fs.utimesSync(stale, new Date('2020-01-01'), new Date('2020-01-01'));
  fs.rmSync(file);
  await help(env);
  assert.equal(fs.existsSync(stale), false);
  assert.equal(rejected.stdout, expected);
  assert.deepEqual((await help(env)).main, ['cachedDataRejected false']);
});

test('ES modules still load from code restored from the cache (a data source .mjs)', async () => {
  const root = tempDir('preflight-project-');
  fs.writeFileSync(path.join(root, 'ds.mjs'), 'export const nothing = 1;\n');
  const env = {
    ...baseEnv(),
    NODE_COMPILE_CACHE: path.join(tempDir(), 'cache'),
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    PREFLIGHT_WAIT_TIMEOUT: '1s',
    PREFLIGHT_DATASOURCE: 'ds.mjs',
    LOG_FORMAT: 'json',
  };
  for (const run of ['first', 'cached']) {
    const result = await runCli(['run'], env, { cwd: root });
    assert.equal(result.code, 78, run);
    // loaded (and found wanting), not "cannot be loaded: A dynamic import callback was not specified"
    assert.match(result.stdout + result.stderr, /ds\.mjs exports no DataSource/, run);
    assert.doesNotMatch(result.stderr, /Warning/, run);
  }
});
