import { connect as connectTcp, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { encodeCommand, ReplyError, ReplyParser, type RedisArgument, type RedisReply } from './resp';

/** Where a Redis server listens; `tls` (rediss://) wraps the connection in TLS. */
export interface RedisEndpoint {
  host: string;
  port: number;
  tls?: ConnectionOptions;
}

interface Waiting {
  resolve(reply: RedisReply): void;
  reject(error: Error): void;
}

/** Key arguments as ioredis takes them: `del('a', 'b')` or `del(['a', 'b'])`. */
type Keys = Array<string | string[]>;

/**
 * One connection to one Redis server, and preflight's whole Redis client. It fails fast: no
 * offline queue, no reconnection; once the socket is gone every command fails with the reason,
 * and the job decides whether to retry. Command errors carry the server's text and never the
 * command's arguments (AUTH's are secrets). The methods a migration uses are named as in ioredis
 * (`get`, `set`, `mget`, `pipeline().set(...).exec()`); `call` sends any other command.
 */
export class RedisClient {
  private readonly waiting: Waiting[] = [];
  private closedBy: Error | undefined;

  private constructor(private readonly socket: Socket) {
    const parser = new ReplyParser((reply) => {
      const next = this.waiting.shift();
      if (!next) throw new Error('Redis protocol error: a reply to no command');
      next.resolve(reply);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    socket.on('error', (error) => (this.closedBy ??= error));
    socket.on('close', () => {
      this.closedBy ??= new Error('Connection closed by the server');
      for (const waiting of this.waiting.splice(0)) waiting.reject(this.closedBy);
    });
  }

  /**
   * Connects and runs `handshake` (AUTH, SELECT, ...) on the new connection; the connection is
   * closed with `connect ETIMEDOUT` unless both are done within `timeoutMs`.
   */
  static async open(
    endpoint: RedisEndpoint,
    timeoutMs: number,
    handshake: (client: RedisClient) => Promise<void>,
  ): Promise<RedisClient> {
    const address = { host: endpoint.host, port: endpoint.port };
    // node:tls costs ~5 ms to load: only rediss:// pays for it.
    const socket = endpoint.tls
      ? (await import('node:tls')).connect({ ...endpoint.tls, ...address })
      : connectTcp(address);
    const timer = setTimeout(() => socket.destroy(timedOut()), timeoutMs);
    try {
      const client = await new Promise<RedisClient>((resolve, reject) => {
        socket.once('error', reject);
        socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
          socket.setNoDelay(true);
          const connected = new RedisClient(socket);
          socket.off('error', reject);
          resolve(connected);
        });
      });
      await handshake(client).catch((error: unknown) => {
        client.disconnect();
        throw error;
      });
      return client;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends the commands in one write and resolves with one reply each, error replies included. */
  send(commands: ReadonlyArray<readonly RedisArgument[]>): Promise<RedisReply[]> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    if (commands.length === 0) return Promise.resolve([]);
    const replies = commands.map(
      () => new Promise<RedisReply>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  /** Any command; an error reply rejects with the server's text. */
  async call(command: string, ...args: RedisArgument[]): Promise<RedisReply> {
    const [reply] = await this.send([[command, ...args]]);
    if (reply instanceof ReplyError) throw reply;
    return reply;
  }

  ping(): Promise<RedisReply> {
    return this.call('PING');
  }
  get(key: string): Promise<string | null> {
    return this.call('GET', key) as Promise<string | null>;
  }
  set(key: string, value: RedisArgument, ...options: RedisArgument[]): Promise<string | null> {
    return this.call('SET', key, value, ...options) as Promise<string | null>;
  }
  mget(...keys: Keys): Promise<Array<string | null>> {
    return this.call('MGET', ...keys.flat()) as Promise<Array<string | null>>;
  }
  del(...keys: Keys): Promise<number> {
    return this.call('DEL', ...keys.flat()) as Promise<number>;
  }
  unlink(...keys: Keys): Promise<number> {
    return this.call('UNLINK', ...keys.flat()) as Promise<number>;
  }
  exists(...keys: Keys): Promise<number> {
    return this.call('EXISTS', ...keys.flat()) as Promise<number>;
  }
  info(section?: string): Promise<string> {
    return this.call('INFO', ...(section === undefined ? [] : [section])) as Promise<string>;
  }
  config(...args: RedisArgument[]): Promise<RedisReply> {
    return this.call('CONFIG', ...args);
  }

  /** Commands queued here are sent together by `exec()`. */
  pipeline(): RedisPipeline {
    return new RedisPipeline(this);
  }

  /** Asks the server to close the connection (QUIT), and closes it. */
  async quit(): Promise<void> {
    if (this.closedBy) return;
    try {
      await this.call('QUIT');
    } finally {
      this.disconnect();
    }
  }

  /** Closes the connection at once; commands still waiting fail. */
  disconnect(): void {
    this.closedBy ??= new Error('Connection closed by the client');
    this.socket.destroy();
  }
}

/** Commands sent in one write; `exec()` returns `[error, reply]` for each, as ioredis does. */
class RedisPipeline {
  private readonly commands: RedisArgument[][] = [];

  constructor(private readonly client: RedisClient) {}

  call(command: string, ...args: RedisArgument[]): this {
    this.commands.push([command, ...args]);
    return this;
  }
  get(key: string): this {
    return this.call('GET', key);
  }
  set(key: string, value: RedisArgument, ...options: RedisArgument[]): this {
    return this.call('SET', key, value, ...options);
  }
  del(...keys: Keys): this {
    return this.call('DEL', ...keys.flat());
  }
  unlink(...keys: Keys): this {
    return this.call('UNLINK', ...keys.flat());
  }
  exists(...keys: Keys): this {
    return this.call('EXISTS', ...keys.flat());
  }

  /** Rejects only when the connection fails; a command's error reply is in its pair. */
  async exec(): Promise<Array<[Error | null, RedisReply]>> {
    const replies = await this.client.send(this.commands.splice(0));
    return replies.map((reply) => (reply instanceof ReplyError ? [reply, null] : [null, reply]));
  }
}

/** As ioredis and Node report a connect timeout, so that it reads (and is classified) the same. */
function timedOut(): Error {
  return Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT', syscall: 'connect' });
}
