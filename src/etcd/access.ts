import type { Etcd3 } from 'etcd3';
import type { EtcdSettings } from '../config/store-settings';
import { PreflightError } from '../core/errors';
import { EtcdGateway, EtcdGatewayError, GatewayUnavailable, type KvReader, type RangeRequest } from './gateway';
import { joinKey, reservedSegment } from './key-path';

/** What the fixture code needs of etcd: reads, and the gRPC client for writes. */
export interface EtcdStore {
  kv: KvReader;
  /** the gRPC client (etcd3), connected on first use */
  writer(): Promise<Etcd3>;
}

/**
 * etcd for a run: reads (the wait step's ping, the fixture plan) go through the JSON gateway, so a
 * run that writes nothing to etcd never loads etcd3, gRPC and protobuf (~150 ms of CPU, issue 15);
 * writes, and everything else, go through etcd3, loaded and connected on first use. An endpoint
 * without the gateway switches every read to etcd3 for the rest of the run.
 */
export class EtcdAccess implements EtcdStore {
  readonly kv: KvReader = { range: (request) => this.range(request) };
  private gateway: EtcdGateway | undefined;
  private client: Promise<Etcd3> | undefined;

  constructor(private readonly settings: EtcdSettings) {
    this.gateway = new EtcdGateway(settings);
  }

  writer(): Promise<Etcd3> {
    this.client ??= import('./client').then(({ connectEtcd }) => connectEtcd(this.settings));
    return this.client;
  }

  /**
   * One cheap authenticated read inside the namespace. Refused credentials or permissions throw
   * PreflightError('config'), which retrying cannot fix; anything else is thrown for the caller's backoff.
   */
  async ping(): Promise<void> {
    const key = Buffer.from(joinKey(this.settings.namespace, reservedSegment));
    if (this.gateway) {
      try {
        await this.gateway.kv.range({ key });
        return;
      } catch (error) {
        if (error instanceof EtcdGatewayError && [3, 7, 16].includes(error.code ?? -1)) {
          throw new PreflightError(
            'config',
            `etcd refused the credentials: ${error.message} — check ETCD_USERNAME, ETCD_PASSWORD and the user's role`,
            { cause: error },
          );
        }
        if (!(error instanceof GatewayUnavailable)) throw error;
        this.dropGateway();
      }
    }
    const { pingEtcd } = await import('./client');
    await pingEtcd(await this.writer(), this.settings.namespace);
  }

  async close(): Promise<void> {
    this.gateway?.close();
    if (this.client) (await this.client).close();
  }

  private async range(request: RangeRequest) {
    if (this.gateway) {
      try {
        return await this.gateway.kv.range(request);
      } catch (error) {
        if (!(error instanceof GatewayUnavailable)) throw error;
        this.dropGateway();
      }
    }
    return (await this.writer()).kv.range(request);
  }

  private dropGateway(): void {
    this.gateway?.close();
    this.gateway = undefined;
  }
}

/** An etcd3 client as an EtcdStore (tests, and callers that hold one already). */
export function storeOf(client: Etcd3 | EtcdStore): EtcdStore {
  return 'writer' in client ? client : { kv: client.kv, writer: async () => client };
}
