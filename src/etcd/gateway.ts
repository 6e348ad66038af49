import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { EtcdSettings } from '../config/store-settings';
import { PreflightError, reasonOf } from '../core/errors';
import { isTlsVerificationError } from '../core/tls-errors';

/** The part of etcd3's `client.kv` the read paths use, so that the gateway and etcd3 are interchangeable there. */
export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number | string;
  revision?: string;
}

export interface RangeResponse {
  header: { revision: string };
  kvs: Array<{ key: Buffer; value: Buffer; mod_revision: string; create_revision: string }>;
  more: boolean;
}

export interface KvReader {
  range(request: RangeRequest): Promise<RangeResponse>;
}

/** The endpoint serves no gRPC gateway (disabled, or not etcd ≥ 3.4): use the gRPC client. */
export class GatewayUnavailable extends Error {}

/** etcd answered with an error: its gRPC code (3 invalid argument, 7 permission denied, 16 unauthenticated) and message. */
export class EtcdGatewayError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Reads from etcd through its JSON gateway (`POST /v3/kv/range`, on the client port since etcd 3.4)
 * with Node's own http/https: no gRPC, protobuf or etcd3 to load, which is most of what a run with
 * etcd costs at start-up (issue 15). Password authentication takes a token once (and again when it
 * expires); TLS uses the same CA and client certificate files; a connection failure moves on to the
 * next endpoint. Writes stay with etcd3 (src/etcd/access.ts).
 */
export class EtcdGateway {
  readonly kv: KvReader = { range: (request) => this.range(request) };
  private token: Promise<string> | undefined;
  private current = 0;
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly settings: EtcdSettings) {}

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
  }

  private async range(request: RangeRequest): Promise<RangeResponse> {
    const body: Record<string, string> = { key: request.key.toString('base64') };
    if (request.range_end !== undefined) body.range_end = request.range_end.toString('base64');
    if (request.limit !== undefined) body.limit = String(request.limit);
    if (request.revision !== undefined) body.revision = request.revision;
    const response = (await this.call('/v3/kv/range', body)) as {
      header: { revision: string };
      kvs?: Array<{ key: string; value?: string; mod_revision: string; create_revision: string }>;
      more?: boolean;
    };
    return {
      header: { revision: response.header.revision },
      kvs: (response.kvs ?? []).map((kv) => ({
        key: Buffer.from(kv.key, 'base64'),
        value: Buffer.from(kv.value ?? '', 'base64'),
        mod_revision: kv.mod_revision,
        create_revision: kv.create_revision,
      })),
      more: response.more === true,
    };
  }

  /** A call with the auth token when etcd wants one; an expired token (code 16) is renewed once. */
  private async call(path: string, body: object, renew = true): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.settings.username !== undefined) headers.authorization = await this.authToken();
    try {
      return await this.post(path, body, headers);
    } catch (error) {
      if (!renew || !(error instanceof EtcdGatewayError) || error.code !== 16 || !headers.authorization) throw error;
      this.token = undefined;
      return this.call(path, body, false);
    }
  }

  private authToken(): Promise<string> {
    this.token ??= this.post('/v3/auth/authenticate', {
      name: this.settings.username,
      password: this.settings.password ?? '',
    }).then(
      (response) => (response as { token: string }).token,
      (error: unknown) => {
        this.token = undefined;
        throw error;
      },
    );
    return this.token;
  }

  /** POST to the endpoint that answered last, else the next ones in turn: a connection failure moves on. */
  private async post(path: string, body: object, headers: Record<string, string> = {}): Promise<unknown> {
    const { endpoints } = this.settings;
    let lastError: unknown;
    let unverified: { endpoint: string; error: unknown } | undefined;
    for (let tried = 0; tried < endpoints.length; tried++) {
      const index = (this.current + tried) % endpoints.length;
      try {
        const answer = await this.request(endpoints[index], path, JSON.stringify(body), headers);
        this.current = index;
        return answer;
      } catch (error) {
        if (error instanceof EtcdGatewayError || error instanceof GatewayUnavailable) throw error;
        if (isTlsVerificationError(error)) unverified ??= { endpoint: endpoints[index], error };
        lastError = error;
      }
    }
    // No endpoint answered and one presented a certificate that does not verify: waiting cannot fix that.
    if (unverified) {
      const { endpoint, error } = unverified;
      throw new PreflightError(
        'config',
        `the TLS certificate of ${endpoint} did not verify (${(error as { code?: string }).code}: ${reasonOf(error)}): set ETCD_CA_FILE to the CA that signed it, and use a name or address the certificate lists`,
        { cause: error },
      );
    }
    throw lastError;
  }

  private request(endpoint: string, path: string, text: string, headers: Record<string, string>): Promise<unknown> {
    const url = new URL(path, endpoint);
    const secure = url.protocol === 'https:';
    const transport = secure ? (require('node:https') as typeof import('node:https')) : require('node:http');
    const agent: HttpAgent =
      this.agents.get(url.protocol) ?? new transport.Agent({ keepAlive: true, ...(secure ? this.tlsOptions() : {}) });
    this.agents.set(url.protocol, agent);
    const timeoutMs = this.settings.callTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => resolve(answerOf(endpoint, path, response.statusCode ?? 0, Buffer.concat(chunks))));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`etcd ${endpoint}: no answer within ${timeoutMs} ms`)));
      request.on('error', reject);
      request.end(text);
    }).then((answer) => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
  }

  private tlsOptions(): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
    const read = (file: string | undefined) => {
      if (file === undefined) return undefined;
      try {
        return readFileSync(file);
      } catch (error) {
        throw new PreflightError('config', `${file}: cannot read the etcd TLS file: ${reasonOf(error)}`, {
          cause: error,
        });
      }
    };
    return { ca: read(this.settings.caFile), cert: read(this.settings.certFile), key: read(this.settings.keyFile) };
  }
}

/** etcd's JSON answer, or the error it stands for (returned, so the promise chain throws it once). */
function answerOf(endpoint: string, path: string, status: number, raw: Buffer): unknown {
  let parsed: { error?: string; message?: string; code?: number };
  try {
    parsed = JSON.parse(raw.toString('utf8')) as typeof parsed;
  } catch {
    return new GatewayUnavailable(`${endpoint}: no etcd gateway answer for ${path} (HTTP ${status})`);
  }
  if (status === 200) return parsed;
  const message = parsed.message ?? parsed.error ?? `HTTP ${status}`;
  // The gateway could not reach etcd's gRPC server behind it (code 14; e.g. --client-cert-auth, where
  // its internal connection presents no client certificate): etcd3 may still get through.
  if (parsed.code === 14 || status >= 500)
    return new GatewayUnavailable(`${endpoint}: etcd's gateway failed: ${message}`);
  return new EtcdGatewayError(message, parsed.code);
}
