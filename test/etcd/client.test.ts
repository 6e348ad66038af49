import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectEtcd, pingEtcd } from '../../src/etcd/client';
import { PreflightError } from '../../src/core/errors';
import { testStack } from '../support/context';

describe('the etcd client', () => {
  it('connects with the credentials and pings inside the namespace', async () => {
    const { etcd } = await testStack();
    const client = connectEtcd({
      endpoints: [etcd.endpoint],
      username: etcd.username,
      password: etcd.password,
      namespace: '/test/ping',
    });
    try {
      await pingEtcd(client, '/test/ping');
    } finally {
      client.close();
    }
  });

  it('reports a wrong password as a configuration error, which retrying cannot fix', async () => {
    const { etcd } = await testStack();
    const client = connectEtcd({
      endpoints: [etcd.endpoint],
      username: etcd.username,
      password: 'not-the-password',
      namespace: '/test/ping',
    });
    try {
      await assert.rejects(pingEtcd(client, '/test/ping'), (error: unknown) => {
        assert.ok(error instanceof PreflightError);
        assert.equal(error.kind, 'config');
        assert.match(error.message, /^etcd refused the credentials: .* — check ETCD_USERNAME, ETCD_PASSWORD/);
        assert.doesNotMatch(error.message, /not-the-password/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('fails fast on an unreachable endpoint, leaving the backoff to the caller', async () => {
    const client = connectEtcd({ endpoints: ['http://127.0.0.1:1'], namespace: 'local' });
    const startedAt = performance.now();
    try {
      await assert.rejects(pingEtcd(client, 'local'), (error: unknown) => !(error instanceof PreflightError));
    } finally {
      client.close();
    }
    assert.ok(performance.now() - startedAt < 5_000);
  });

  it('names a TLS file it cannot read', () => {
    assert.throws(
      () => connectEtcd({ endpoints: ['https://127.0.0.1:2379'], namespace: 'local', caFile: '/nonexistent/ca.pem' }),
      (error: unknown) =>
        error instanceof PreflightError &&
        error.kind === 'config' &&
        error.message.startsWith('/nonexistent/ca.pem: cannot read the etcd TLS file'),
    );
  });
});
