import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  isRecoverableError,
  type IOptions,
} from 'etcd3';
import { PreflightError, reasonOf } from '../core/errors';
import { failover } from '../core/retry';
import type { EtcdSettings } from '../config/store-settings';
import { joinKey, reservedSegment } from './key-path';

export type { EtcdSettings };

/** How long to wait for a connection before a call fails; the caller's backoff does the rest. */
const dialTimeoutMs = 2_000;

/**
 * An etcd3 client for preflight. etcd3's default fault handling retries three times and opens a
 * five-second circuit breaker per host, which would hide the real error from the caller's
 * backoff and make it fail fast on a host that is already back. Here each call tries every
 * endpoint at most once (so one dead member of a cluster is skipped) and then fails.
 */
export function connectEtcd(settings: EtcdSettings): Etcd3 {
  const callTimeoutMs = settings.callTimeoutMs ?? 10_000;
  return new Etcd3({
    hosts: settings.endpoints,
    dialTimeout: dialTimeoutMs,
    credentials: tlsCredentials(settings),
    auth:
      settings.username === undefined
        ? undefined
        : {
            username: settings.username,
            password: settings.password ?? '',
            callOptions: () => ({ deadline: Date.now() + callTimeoutMs }),
          },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => failover(1, isRecoverableError),
      global: failover(settings.endpoints.length, isRecoverableError),
    },
  });
}

/**
 * One cheap authenticated read (a single key inside the namespace, so a role limited to the
 * namespace suffices). Wrong credentials or missing permissions throw PreflightError('config'),
 * which retrying cannot fix; anything else is thrown as etcd3 raised it, for the caller's backoff.
 */
export async function pingEtcd(client: Etcd3, namespace = ''): Promise<void> {
  try {
    await client.get(joinKey(namespace, reservedSegment)).exists();
  } catch (error) {
    if (
      error instanceof EtcdAuthenticationFailedError ||
      error instanceof EtcdUserNotFoundError ||
      error instanceof EtcdPermissionDeniedError ||
      error instanceof GRPCUnauthenticatedError ||
      /user name is empty/.test(reasonOf(error))
    ) {
      throw new PreflightError(
        'config',
        `etcd refused the credentials: ${reasonOf(error)} — check ETCD_USERNAME, ETCD_PASSWORD and the user's role`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

function tlsCredentials(settings: EtcdSettings): IOptions['credentials'] {
  if (settings.caFile === undefined && settings.certFile === undefined && settings.keyFile === undefined)
    return undefined;
  return {
    rootCertificate:
      settings.caFile === undefined ? Buffer.from(rootCertificates.join('\n')) : readPem(settings.caFile),
    certChain: settings.certFile === undefined ? undefined : readPem(settings.certFile),
    privateKey: settings.keyFile === undefined ? undefined : readPem(settings.keyFile),
  };
}

function readPem(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new PreflightError('config', `${file}: cannot read the etcd TLS file: ${reasonOf(error)}`, { cause: error });
  }
}
