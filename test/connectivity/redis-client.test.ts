/**
 * preflight's own Redis client (src/redis/) against the test stack's real Redis: what a migration
 * and clear-history rely on, and how it fails (fast, with the server's text or the socket's reason).
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { connectRedis } from '../../src/redis/client';
import { ReplyError } from '../../src/redis/resp';
import { isConnectionLoss } from '../../src/postgres/session';
import { redisDb } from '../support/context';

const settingsOf = (url: string) => ({ url, database: Number(new URL(url).pathname.slice(1)) });

test('commands, replies of every type, and a pipeline with an error reply in the middle', async () => {
  const db = await redisDb();
  const client = await connectRedis(settingsOf(db.url));
  try {
    assert.equal(await client.set('a', 'ä\r\n'), 'OK');
    assert.deepEqual(await client.mget(['a', 'missing']), ['ä\r\n', null]);
    assert.deepEqual(await client.mget('a', 'missing'), ['ä\r\n', null]);
    await client.call('RPUSH', 'list', 'x', 'y');
    const results = await client.pipeline().exists('a', 'missing').call('INCR', 'list').unlink(['a', 'list']).exec();
    assert.deepEqual(results[0], [null, 1]);
    assert.ok(results[1][0] instanceof ReplyError && /WRONGTYPE/.test(results[1][0].message), String(results[1][0]));
    assert.deepEqual(results[2], [null, 2]);
    assert.deepEqual(await client.pipeline().exec(), []);
    assert.deepEqual(await client.call('MULTI'), 'OK');
    await client.call('SET', 'b', '1');
    await client.call('INCR', 'counter');
    assert.deepEqual(await client.call('EXEC'), ['OK', 1]);
    await assert.rejects(client.call('NOSUCHCOMMAND'), (error: Error) => {
      assert.ok(error instanceof ReplyError && /unknown command/i.test(error.message), error.message);
      return true;
    });
  } finally {
    await client.quit();
    await db.close();
  }
});

test('a connection the server drops fails the next command as a lost connection, without reconnecting', async () => {
  const db = await redisDb();
  const client = await connectRedis(settingsOf(db.url));
  const id = Number(await client.call('CLIENT', 'ID'));
  await db.client.call('CLIENT', 'KILL', 'ID', String(id));
  await assert.rejects(client.get('a'), (error: Error) => {
    assert.ok(isConnectionLoss(error), error.message);
    return true;
  });
  // no reconnection: the next command fails the same way
  await assert.rejects(client.get('a'), (error: Error) => isConnectionLoss(error));
  await client.quit();
  await db.close();
});

test('a server that accepts but never answers: connect ETIMEDOUT; one that is not Redis: a protocol error', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  const http = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await Promise.all(
    [silent, http].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))),
  );
  const url = (server: typeof silent) => `redis://:pw@127.0.0.1:${(server.address() as AddressInfo).port}/0`;
  try {
    await assert.rejects(connectRedis(settingsOf(url(silent))), { message: 'connect ETIMEDOUT', code: 'ETIMEDOUT' });
    await assert.rejects(connectRedis(settingsOf(url(http))), /Redis protocol error: unexpected reply type "H"/);
  } finally {
    for (const socket of sockets) socket.destroy();
    for (const server of [silent, http]) server.close();
  }
});
