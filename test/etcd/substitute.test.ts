import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substitute } from '../../src/etcd/substitute';

describe('variable substitution', () => {
  const env = { HOST: 'db', EMPTY: '', PORT: '5432' };

  const value = (text: string) => {
    const result = substitute(text, env);
    assert.ok('value' in result, JSON.stringify(result));
    return result.value;
  };

  it('replaces ${VAR} with its value, anywhere in the string, and names the variables it read', () => {
    assert.deepEqual(substitute('${HOST}:${PORT}', env), { value: 'db:5432', variables: ['HOST', 'PORT'] });
  });

  it('uses the default when the variable is unset or empty', () => {
    assert.equal(value('${MISSING:-127.0.0.1:6379}'), '127.0.0.1:6379');
    assert.equal(value('${EMPTY:-fallback}'), 'fallback');
    assert.equal(value('${MISSING:-}'), '');
  });

  it('keeps an empty value when no default is given', () => {
    assert.equal(value('[${EMPTY}]'), '[]');
  });

  it('$${ is the only escape: it gives a literal ${', () => {
    assert.deepEqual(substitute('$${HOST} costs $5 $', env), { value: '${HOST} costs $5 $', variables: [] });
    assert.equal(value('a$${b}c'), 'a${b}c');
  });

  it('every other $ is literal: Backend.AI-style passwords arrive unchanged', () => {
    for (const password of [
      'pa$$word',
      'pa$word',
      '$$',
      '$',
      'x$',
      '$$$',
      'p@$$w0rd!$',
      '$HOME',
      '$1$salt$hash',
      'a$$$$b',
    ]) {
      assert.deepEqual(substitute(password, env), { value: password, variables: [] }, password);
    }
    // `$${` is read left to right: the first `$` is literal, then `$${` is the escape.
    assert.equal(value('pa$$${HOST}'), 'pa$${HOST}');
    assert.equal(value('pa$$word-${HOST}'), 'pa$$word-db');
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
