/** A throwaway certificate authority for TLS tests, made with openssl at start. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** the CA that signed server and client */
  ca: string;
  /** a CA that signed nothing here: verification against it fails */
  otherCa: string;
  /** for localhost and 127.0.0.1, not ::1 (so verify-ca passes there and verify-full fails) */
  serverCert: string;
  serverKey: string;
  /** CN = `clientName` (PostgreSQL's cert auth maps it to the role of that name) */
  clientCert: string;
  clientKey: string;
  /** a server certificate for a name the tests never connect by (verify-full fails, verify-ca passes) */
  wrongNameCert: string;
  wrongNameKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

function signed(dir: string, name: string, subject: string, extensions: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${subject}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

/** Creates the CA and certificates in `dir` (created); files are world-readable except the keys (0600). */
export function makeCertificates(dir: string, clientName: string): TestCertificates {
  fs.mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  signed(dir, 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'wrong-name', 'elsewhere.invalid', 'subjectAltName=DNS:elsewhere.invalid\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'client', clientName, 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => path.join(dir, name);
  for (const name of fs.readdirSync(dir)) fs.chmodSync(file(name), name.endsWith('.key') ? 0o600 : 0o644);
  return {
    dir,
    ca: file('ca.crt'),
    otherCa: file('other-ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    wrongNameCert: file('wrong-name.crt'),
    wrongNameKey: file('wrong-name.key'),
  };
}
