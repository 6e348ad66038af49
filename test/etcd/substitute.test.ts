import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substitute } from '../../src/etcd/substitute';

describe('variable substitution', () => {
  const env = { HOST: 'db', EMPTY: '', PORT: '5432' };

  it('replaces ${VAR} with its value, anywhere in the string', () => {
    assert.deepEqual(substitute('${HOST}:${PORT}', env), { value: 'db:5432' });
  });

  it('uses the default when the variable is unset or empty', () => {
    assert.deepEqual(substitute('${MISSING:-127.0.0.1:6379}', env), { value: '127.0.0.1:6379' });
    assert.deepEqual(substitute('${EMPTY:-fallback}', env), { value: 'fallback' });
    assert.deepEqual(substitute('${MISSING:-}', env), { value: '' });
  });

  it('keeps an empty value when no default is given', () => {
    assert.deepEqual(substitute('[${EMPTY}]', env), { value: '[]' });
  });

  it('reads $$ as a literal $ and leaves other dollars alone', () => {
    assert.deepEqual(substitute('$${HOST} costs $5 $', env), { value: '${HOST} costs $5 $' });
  });

  it('reports an unset variable without a default as a configuration problem', () => {
    assert.deepEqual(substitute('x ${STORAGE_MOUNT}', env), { problem: { kind: 'config', variable: 'STORAGE_MOUNT' } });
  });

  it('reports malformed references as data problems', () => {
    const unterminated = substitute('${HOST', env);
    assert.ok('problem' in unterminated && unterminated.problem.kind === 'data');
    const invalid = substitute('${1X}', env);
    assert.ok(
      'problem' in invalid &&
        invalid.problem.kind === 'data' &&
        /not a variable reference/.test(invalid.problem.reason),
    );
    const shellForm = substitute('${HOST-x}', env);
    assert.ok('problem' in shellForm && shellForm.problem.kind === 'data');
  });
});
