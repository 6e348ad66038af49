import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSegment, joinKey, keyspace, normalisePrefix, prefixRangeEnd } from '../../src/etcd/key-path';

describe('key segments', () => {
  it('are percent-encoded like Python quote(segment, safe="")', () => {
    assert.equal(encodeSegment('cr.backend.ai'), 'cr.backend.ai');
    assert.equal(encodeSegment('lablup/python:3.9'), 'lablup%2Fpython%3A3.9');
    assert.equal(encodeSegment('A-z_0.9~'), 'A-z_0.9~');
    assert.equal(encodeSegment('a b+c%'), 'a%20b%2Bc%25');
    assert.equal(encodeSegment('é☃'), '%C3%A9%E2%98%83');
    assert.equal(encodeSegment('😀'), '%F0%9F%98%80');
  });
});

describe('key paths', () => {
  it('never contain double slashes and keep the namespace leading slash', () => {
    assert.equal(joinKey('/test/abc/', 'config', 'redis/addr'), '/test/abc/config/redis/addr');
    assert.equal(joinKey('local', '', 'config'), 'local/config');
    assert.equal(joinKey('', 'config'), 'config');
    assert.equal(normalisePrefix('/config//docker/'), 'config/docker');
  });

  it('map relative keys to full keys and back within one namespace', () => {
    const keys = keyspace('/test/abc');
    assert.equal(keys.full('config/a'), '/test/abc/config/a');
    assert.equal(keys.relative('/test/abc/config/a'), 'config/a');
    assert.equal(keys.relative('/test/abcd/config/a'), undefined);
    assert.equal(keys.relative('/test/abc'), undefined);
  });

  it('cover a prefix and everything below it with one range', () => {
    const { start, end } = keyspace('local').subtree('config');
    assert.equal(start.toString(), 'local/config');
    assert.equal(end.toString(), 'local/config0');
    assert.deepEqual(prefixRangeEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  });
});
