import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PreflightError } from '../../src/core/errors';
import { loadFixtureFiles } from '../../src/etcd/fixture-file';
import { fixtureDir, yaml } from './temp-fixtures';

/** Loads `files` and returns the PreflightError it must throw, with `<dir>/` shortened to `@/`. */
async function failure(files: Record<string, string>, env: Record<string, string> = {}): Promise<PreflightError> {
  const dir = await fixtureDir(files);
  const error = await loadFixtureFiles(dir, env).then(
    () => assert.fail('expected the fixtures to be rejected'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof PreflightError, String(error));
  const shorten = (line: string) => line.split(join(dir, '/')).join('@/');
  error.message = shorten(error.message);
  error.details.splice(0, error.details.length, ...error.details.map(shorten));
  return error;
}

async function rejects(text: string, message: string): Promise<void> {
  const error = await failure({ 'f.yaml': text });
  assert.equal(error.kind, 'data');
  assert.equal(error.exitCode, 65);
  assert.equal(error.message, message);
}

describe('malformed fixture files are rejected with file, line and reason', () => {
  it('YAML syntax errors', () =>
    rejects(
      yaml('prefix: p', 'data:', '  a: [1', 'b: 2'),
      '@/f.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ));
  it('duplicate YAML keys', async () => {
    await rejects(yaml('prefix: p', 'data:', '  a: 1', '  a: 2'), '@/f.yaml:4:3: duplicate key "a" (first at line 3)');
    await rejects(
      yaml('prefix: p', 'data:', '  a:', '    x: 1', '  a:', '    y: 2'),
      '@/f.yaml:5:3: duplicate key "a" (first at line 3)',
    );
    await rejects(yaml('prefix: p', 'data: {}', 'prefix: q'), '@/f.yaml:3:1: duplicate key "prefix"');
  });
  it('an empty file', () =>
    rejects('', '@/f.yaml:1:1: the file is empty: expected prefix, mode, override, data and data-file'));
  it('a top level that is not a map', () =>
    rejects(yaml('- a'), '@/f.yaml:1:1: expected a map with prefix, mode, override, data and data-file'));
  it('unknown top-level fields', () =>
    rejects(
      yaml('prefix: p', 'data: {}', 'prefx: q'),
      '@/f.yaml:3:1: unknown field "prefx": a fixture file has only prefix, mode, override, data and data-file',
    ));
  it('a missing prefix', () =>
    rejects(yaml('data: {}'), '@/f.yaml:1:1: prefix is missing: write prefix: "" to put data at the namespace root'));
  it('a prefix that is not a string', () =>
    rejects(yaml('prefix: [a]', 'data: {}'), '@/f.yaml:1:9: prefix must be a string, e.g. prefix: config'));
  it('an unknown mode', () =>
    rejects(
      yaml('prefix: p', 'mode: upsert', 'data: {}'),
      '@/f.yaml:2:7: unknown mode "upsert": use merge, replace or create-only',
    ));
  it('missing data', () =>
    rejects(
      yaml('prefix: p'),
      '@/f.yaml:1:1: data is missing: write data: {} for a file with no keys, or data-file: FILE',
    ));
  it('data that is not a map', () =>
    rejects(yaml('prefix: p', 'data: text'), '@/f.yaml:2:7: data must be a map of keys to values'));
  it('null values', () =>
    rejects(
      yaml('prefix: p', 'data:', '  a:', '  b: 1'),
      '@/f.yaml:3:3: key p/a has no value (null): write "" for an empty string',
    ));
  it('lists', () =>
    rejects(
      yaml('prefix: p', 'data:', '  hosts: [a, b]'),
      '@/f.yaml:3:10: lists are not supported (key p/hosts): write a comma-separated string, as Backend.AI does, or a map',
    ));
  it('aliases', () =>
    rejects(
      yaml('prefix: p', 'data:', '  a: &x 1', '  b: *x'),
      '@/f.yaml:4:6: aliases (*x) are not supported (key p/b): repeat the value',
    ));
  it('map keys that are not scalars', () =>
    rejects(yaml('prefix: p', 'data:', '  ? [a]', '  : 1'), '@/f.yaml:3:5: a key must be a string, number or boolean'));
  it('malformed variable references', () =>
    rejects(
      yaml('prefix: p', 'data:', '  a: ${1X}'),
      '@/f.yaml:3:6: "${1X}" is not a variable reference: write ${NAME} or ${NAME:-default}, or "$${" for a literal "${"',
    ));
  it('a value at the namespace root', () =>
    rejects(
      yaml('prefix: ""', 'data:', '  "": x'),
      '@/f.yaml:3:7: a value needs a key: "" at the namespace root has nowhere to go',
    ));

  it('keys under the reserved _preflight segment at the namespace root', async () => {
    await rejects(
      yaml('prefix: ""', 'data:', '  _preflight:', '    fixtures: x'),
      '@/f.yaml:4:15: key _preflight/fixtures is under "_preflight", which preflight keeps for its own records',
    );
    await rejects(
      yaml('prefix: /_preflight/x', 'data: {}'),
      '@/f.yaml:1:9: prefix "_preflight/x" is under "_preflight", which preflight keeps for its own records',
    );
  });

  it('allows _preflight below the namespace root', async () => {
    const [fixture] = await loadFixtureFiles(
      await fixtureDir({ 'f.yaml': yaml('prefix: config', 'data:', '  _preflight: x') }),
      {},
    );
    assert.deepEqual([...fixture.entries.keys()], ['config/_preflight']);
  });
});

describe('keys that collide are rejected', () => {
  it('two entries of one file flattening to the same key through ""', () =>
    rejects(
      yaml('prefix: p', 'data:', '  a:', '    "":', '      b: 1', '    b: 2'),
      '@/f.yaml:6:8: key p/a/b is defined twice (first at line 5)',
    ));

  it('a number key and a string key with the same text', () =>
    rejects(yaml('prefix: p', 'data:', '  1: x', '  "1": y'), '@/f.yaml:4:3: duplicate key "1" (first at line 3)'));

  it('a key that contains "/" is one encoded segment, not a path', async () => {
    const [fixture] = await loadFixtureFiles(
      await fixtureDir({ 'f.yaml': yaml('prefix: p', 'data:', '  a/b: 1', '  a:', '    b: 2') }),
      {},
    );
    assert.deepEqual([...fixture.entries.keys()], ['p/a%2Fb', 'p/a/b']);
  });

  it('the same key in two files', async () => {
    const error = await failure({
      '10-a.yaml': yaml('prefix: config', 'data:', '  redis:', '    addr: x'),
      '20-b.yaml': yaml('prefix: config/redis', 'data:', '  addr: y'),
    });
    assert.equal(
      error.message,
      '@/20-b.yaml:3:9: key config/redis/addr is also defined in @/10-a.yaml:4:11: define it in one file only, or add override: true to 20-b.yaml',
    );
  });

  it('a key of another file under the prefix of a replace file', async () => {
    const error = await failure({
      '10-a.yaml': yaml('prefix: config', 'mode: replace', 'data:', '  a: 1'),
      '20-b.yaml': yaml('prefix: config/plugins', 'data:', '  b: 2'),
    });
    assert.equal(
      error.message,
      '@/20-b.yaml:3:6: key config/plugins/b lies under prefix "config" of @/10-a.yaml, whose mode replace would delete it: move the key into 10-a.yaml or use mode merge there',
    );
  });
});

describe('unset variables', () => {
  it('are a configuration error naming the variable, file, line and key', async () => {
    const error = await failure({ '20-volumes.yaml': yaml('prefix: volumes', 'data:', '  _mount: ${STORAGE_MOUNT}') });
    assert.equal(error.kind, 'config');
    assert.equal(error.exitCode, 78);
    assert.equal(
      error.message,
      '@/20-volumes.yaml:3: ${STORAGE_MOUNT} is not set (key volumes/_mount) — set STORAGE_MOUNT or give a default with ${STORAGE_MOUNT:-value}',
    );
  });

  it('are reported by the shipped fixtures for STORAGE_MOUNT', async () => {
    const error = await loadFixtureFiles(join(__dirname, '../../../fixtures/etcd'), {}).catch(
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof PreflightError);
    assert.equal(error.kind, 'config');
    assert.match(
      error.message,
      /^fixtures\/etcd\/20-volumes\.yaml:\d+: \$\{STORAGE_MOUNT\} is not set \(key volumes\/_mount\)/,
    );
  });
});

describe('every file is validated before anything is reported', () => {
  it('lists all problems of all files, data problems first', async () => {
    const error = await failure({
      '10-a.yaml': yaml('prefix: a', 'data:', '  x: ${MISSING}'),
      '20-b.yaml': yaml('prefix: b', 'mode: nope', 'data: {}'),
      '30-c.yaml': yaml('prefix: c', 'data:', '  y: [1]'),
    });
    assert.equal(error.kind, 'data');
    assert.equal(error.message, '@/20-b.yaml:2:7: unknown mode "nope": use merge, replace or create-only');
    assert.equal(error.details.length, 2);
    assert.match(error.details[0], /^@\/30-c\.yaml:3:6: lists are not supported/);
    assert.match(error.details[1], /^@\/10-a\.yaml:3: \$\{MISSING\} is not set/);
  });
});
