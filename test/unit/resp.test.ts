import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand, ReplyError, ReplyParser, type RedisReply } from '../../src/redis/resp';

/** Feeds `chunks` one after the other and returns every reply the parser handed over. */
function parse(...chunks: Array<string | Buffer>): RedisReply[] {
  const replies: RedisReply[] = [];
  const parser = new ReplyParser((reply) => replies.push(reply));
  for (const chunk of chunks) parser.feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return replies;
}

/** Every way of cutting `text` in two, and into single bytes. */
function splits(text: string): string[][] {
  const cuts = Array.from({ length: text.length - 1 }, (_, index) => [text.slice(0, index + 1), text.slice(index + 1)]);
  return [...cuts, [...text]];
}

test('a command is an array of bulk strings, byte lengths for UTF-8 and numbers in decimal', () => {
  assert.equal(encodeCommand(['SET', 'clé', 42]).toString(), '*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$2\r\n42\r\n');
  assert.equal(
    encodeCommand(['GET', Buffer.from([0, 13, 10])]).toString('latin1'),
    '*2\r\n$3\r\nGET\r\n$3\r\n\0\r\n\r\n',
  );
});

test('simple strings, integers, bulk strings (empty, with CRLF inside, UTF-8) and null bulk', () => {
  assert.deepEqual(parse('+OK\r\n:42\r\n:-7\r\n$0\r\n\r\n$4\r\na\r\nb\r\n$2\r\né\r\n$-1\r\n'), [
    'OK',
    42,
    -7,
    '',
    'a\r\nb',
    'é',
    null,
  ]);
});

test('an error reply is a ReplyError with the server text', () => {
  const [reply] = parse('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  assert.ok(reply instanceof ReplyError);
  assert.equal(reply.message, 'WRONGPASS invalid username-password pair or user is disabled.');
});

test('nested arrays, an empty array, a null array and an error inside an array', () => {
  const [reply, empty, nil] = parse('*3\r\n*2\r\n$4\r\nrole\r\n:1\r\n-ERR inner\r\n*1\r\n$-1\r\n*0\r\n*-1\r\n');
  assert.ok(Array.isArray(reply));
  assert.deepEqual(reply[0], ['role', 1]);
  assert.ok(reply[1] instanceof ReplyError && reply[1].message === 'ERR inner');
  assert.deepEqual(reply[2], [null]);
  assert.deepEqual(empty, []);
  assert.equal(nil, null);
});

test('a reply split anywhere across chunks, even byte by byte, is the same reply, once', () => {
  const text = '*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n+PONG\r\n';
  for (const chunks of splits(text)) {
    assert.deepEqual(parse(...chunks), [['appendonly', 'yes'], 'PONG'], JSON.stringify(chunks));
  }
});

test('a multi-byte character split between chunks is decoded whole', () => {
  const bytes = Buffer.from('$2\r\né\r\n');
  assert.deepEqual(parse(bytes.subarray(0, 5), bytes.subarray(5)), ['é']);
});

test('pipelined replies in one chunk come out in order', () => {
  assert.deepEqual(parse(':1\r\n:0\r\n-ERR wrong type\r\n:2\r\n').length, 4);
  const replies = parse(':1\r\n:0\r\n:2\r\n');
  assert.deepEqual(replies, [1, 0, 2]);
});

test('bytes that are not RESP2 are refused, not skipped', () => {
  assert.throws(() => parse('HTTP/1.1 400 Bad Request\r\n'), /Redis protocol error: unexpected reply type "H"/);
  assert.throws(() => parse('$abc\r\n'), /Redis protocol error: "abc" is not an integer/);
});
