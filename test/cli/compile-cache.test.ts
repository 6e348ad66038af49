import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../support/context';

/** Node >= 22.1 has its own compile cache, which the launcher turns on; Node 20 compiles the bundle with vm.Script. */
const nodeHasCompileCache =
  typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';

const baseEnv = () => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  NODE_DEBUG: 'preflight_compile',
  TMPDIR: tempDir('preflight-tmp-'),
});

const compiledByScript = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('PREFLIGHT_COMPILE') && line.endsWith(': compiled with vm.Script'))
    .map((line) => line.split(' ')[2].replace(/:$/, ''));

test('the launcher: Node 20 compiles the bundle with vm.Script, Node >= 22.1 turns its compile cache on; same output', async () => {
  const env = baseEnv();
  const on = await runCli(['--help'], env);
  const off = await runCli(['--help'], { ...env, NODE_DISABLE_COMPILE_CACHE: '1' });
  assert.equal(on.code, 0, on.stderr);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(on.stdout, off.stdout);
  assert.deepEqual(compiledByScript(off.stderr), []);
  if (nodeHasCompileCache) {
    assert.ok(fs.readdirSync(path.join(env.TMPDIR, 'preflight-compile-cache')).length > 0, 'no compile cache written');
  } else {
    assert.ok(compiledByScript(on.stderr).includes('cli/preflight-main.js'), on.stderr);
  }
});

test('ES modules load from code the launcher compiled (a data source .mjs)', async () => {
  const root = tempDir('preflight-project-');
  fs.writeFileSync(path.join(root, 'ds.mjs'), 'export const nothing = 1;\n');
  const result = await runCli(
    ['run'],
    {
      ...baseEnv(),
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      PREFLIGHT_WAIT_TIMEOUT: '1s',
      PREFLIGHT_DATASOURCE: 'ds.mjs',
      LOG_FORMAT: 'json',
    },
    { cwd: root },
  );
  assert.equal(result.code, 78);
  // loaded (and found wanting), not "cannot be loaded: A dynamic import callback was not specified"
  assert.match(result.stdout + result.stderr, /ds\.mjs exports no DataSource/);
  assert.doesNotMatch(result.stderr, /Warning/);
});
