import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { textChecksum } from '../../src/postgres/migration-checksum';

/** The line-by-line definition the checksum has always had (recorded checksums depend on it). */
function reference(text: string): string {
  const normalised = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd();
  return createHash('sha256').update(normalised).digest('hex');
}

test('the fast path of textChecksum gives the line-by-line result for any mix of line ends and white space', () => {
  const alphabet = ['a', 'b', ' ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u2028', '\uFEFF', '\v', 'é'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let sample = 0; sample < 5000; sample++) {
    const length = Math.floor(next() * 24);
    let text = next() < 0.1 ? '\uFEFF' : '';
    for (let index = 0; index < length; index++) text += alphabet[Math.floor(next() * alphabet.length)];
    assert.equal(textChecksum(text), reference(text), JSON.stringify(text));
  }
  assert.equal(textChecksum('class A {}\n'), textChecksum('class A {}  \r\n\r\n'));
  assert.notEqual(textChecksum('a\nb'), textChecksum('a\n b'));
});
