import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/log/create-logger';
import { createRedactor } from '../../src/log/redact';

/** A stream that keeps what the logger writes to it. */
function collected(): { written: string[]; stream: Writable } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  });
  return { written, stream };
}

test('credentials in URLs, password assignments and known secret values are masked', () => {
  const redact = createRedactor(['s3cr3t!', 'other/secret']);
  assert.equal(redact('postgres://app:hunter2@db:5432/x'), 'postgres://app:***@db:5432/x');
  assert.equal(redact('redis://:hunter2@redis:6379/0'), 'redis://:***@redis:6379/0');
  assert.equal(redact('password=hunter2 host=db'), 'password=*** host=db');
  assert.equal(redact('auth failed with s3cr3t! for you'), 'auth failed with *** for you');
  assert.equal(redact(`encoded ${encodeURIComponent('other/secret')} too`), 'encoded *** too');
});

test('the logger redacts every field of every record, nested ones included', () => {
  const { written, stream } = collected();
  const log = createLogger({ level: 'debug', format: 'json', secrets: ['sentinel-pw'], stream });
  log.error({
    event: 'x',
    message: 'failed for sentinel-pw',
    nested: { url: 'postgres://u:sentinel-pw@h/d', list: ['sentinel-pw'] },
  });
  log.info({ event: 'y', error: new Error('boom sentinel-pw') });
  const text = written.join('');
  assert.ok(written.length >= 2, text);
  assert.ok(!text.includes('sentinel-pw'), text);
  assert.match(text, /failed for \*\*\*/);
});

test('pretty format is one colour-free line per event', () => {
  const { written, stream } = collected();
  const log = createLogger({ level: 'info', format: 'pretty', secrets: [], stream });
  log.info({ event: 'migration.applied', name: 'Init1', durationMs: 12 });
  assert.match(written.join(''), /^\d\d:\d\d:\d\d\.\d{3} info {2}migration\.applied name=Init1 durationMs=12\n$/);
  assert.ok(!written.join('').includes('\u001b['));
});

test('secrets with quotes, backslashes, %, @, :, /, $ and non-ASCII are masked raw, percent-encoded and JSON-escaped (issue 11)', () => {
  const secrets = ['pa"ss\\w%rd', 'us@er:pw/x$1', 'pässwörd-日本'];
  const redact = createRedactor(secrets);
  for (const secret of secrets) {
    for (const form of [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]) {
      const text = redact(`before ${form} after`);
      assert.equal(text, 'before *** after', `${JSON.stringify(form)} → ${text}`);
    }
  }
});

test('short secrets are masked where they stand alone, not inside longer words (issue 11)', () => {
  const redact = createRedactor(['x$', 'ab']);
  assert.equal(redact('auth with x$ failed'), 'auth with *** failed');
  assert.equal(redact('pin ab.'), 'pin ***.');
  assert.equal(redact('label ab'), 'label ***');
  assert.equal(redact('table about'), 'table about');
});

test('a record with a __proto__ key is logged as an own field, sorted, and pollutes nothing', () => {
  const { written, stream } = collected();
  const log = createLogger({ level: 'info', format: 'json', secrets: [], stream });
  const hostile = JSON.parse('{"event":"z","b":1,"__proto__":{"polluted":"sentinel-pw"},"a":{"__proto__":2}}') as {
    event: string;
  };
  log.info(hostile);
  const line = written.join('').trim();
  assert.deepEqual(Object.keys(JSON.parse(line) as object), ['__proto__', 'a', 'b', 'event', 'level', 'timestamp']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
