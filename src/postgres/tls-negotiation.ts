import * as net from 'node:net';
import type * as tls from 'node:tls';

/** SSLRequest: length 8, code 80877103 (PostgreSQL's protocol, "SSL Session Encryption"). */
const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

export interface TlsNegotiation {
  host: string;
  port: number;
  /** node's TLS options, applied exactly as node-postgres applies its `ssl` option */
  tls: tls.ConnectionOptions;
  /** sslmode=prefer: a server that answers "no TLS" is used plain on the same socket */
  plainIfRefused: boolean;
  /** 0: none */
  timeoutMs: number;
  keepAliveInitialDelayMs: number;
}

/**
 * Asks the server for TLS the way libpq does, on one TCP connection: SSLRequest, one byte back;
 * 'S' → the TLS handshake on that socket; 'N' → that socket stays plain when `plainIfRefused`
 * (prefer), else node-postgres's own error ("does not support SSL"). Errors are the ones
 * node-postgres would report (ECONNREFUSED, the certificate's code, "timeout expired").
 * The socket is handed to node-postgres ready (see `handOver`), with its own `ssl` off.
 */
export function negotiateTls(options: TlsNegotiation): Promise<{ socket: net.Socket; encrypted: boolean }> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: options.host, port: options.port });
    raw.setNoDelay(true);
    raw.setKeepAlive(true, options.keepAliveInitialDelayMs);
    let secure: tls.TLSSocket | undefined;
    let settled = false;
    const timer =
      options.timeoutMs > 0 ? setTimeout(() => fail(new Error('timeout expired')), options.timeoutMs) : undefined;
    const onClose = () => fail(new Error('Connection terminated unexpectedly'));
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      raw.off('error', fail).off('close', onClose).off('data', onAnswer);
      secure?.off('error', fail);
      return true;
    }
    function fail(error: Error): void {
      if (!settle()) return;
      secure?.destroy();
      raw.destroy();
      reject(error);
    }
    function succeed(socket: net.Socket, encrypted: boolean): void {
      if (settle()) resolve({ socket: handOver(socket), encrypted });
    }
    function onAnswer(chunk: Buffer): void {
      raw.off('data', onAnswer);
      const answer = String.fromCharCode(chunk[0]);
      if (chunk.length > 1 && (answer === 'S' || answer === 'N')) {
        // libpq's check (CVE-2021-23222): nothing may follow the answer before the handshake
        return fail(new Error('received unencrypted data after SSL response'));
      }
      if (answer === 'N') {
        if (options.plainIfRefused) return succeed(raw, false);
        return fail(new Error('The server does not support SSL connections'));
      }
      if (answer !== 'S') return fail(new Error('There was an error establishing an SSL connection'));
      // node-postgres's upgradeToSSL: `host` for the identity check, SNI only for a name (RFC 6066)
      const tlsOptions: tls.ConnectionOptions = { socket: raw, host: options.host, ...options.tls };
      if (net.isIP(options.host) === 0) tlsOptions.servername = options.host;
      try {
        // loaded only here: node:tls costs ~10 ms of every start-up that never uses it
        secure = (require('node:tls') as typeof import('node:tls')).connect(tlsOptions);
      } catch (error) {
        return fail(error as Error);
      }
      secure.once('error', fail);
      secure.once('secureConnect', () => succeed(secure!, true));
    }
    raw.once('error', fail);
    raw.once('close', onClose);
    raw.once('connect', () => raw.write(sslRequest));
    raw.on('data', onAnswer);
  });
}

/**
 * node-postgres calls `stream.connect(port, host)` and starts once the stream emits 'connect': for
 * a socket that is connected already, that call only announces it.
 */
function handOver(socket: net.Socket): net.Socket {
  socket.connect = (() => {
    process.nextTick(() => socket.emit('connect'));
    return socket;
  }) as typeof socket.connect;
  return socket;
}
