import type { Environment, EnvironmentProblem } from './environment';

/** How to reach etcd; present only when ETCD_ENDPOINTS is set. */
export interface EtcdSettings {
  /** client URLs, `http://host:2379` or `https://...` (ETCD_ENDPOINTS) */
  endpoints: string[];
  /** key prefix everything preflight writes lives under, e.g. `/sorna/local` (ETCD_NAMESPACE) */
  namespace: string;
  /** user for etcd's password authentication; none when unset */
  username?: string;
  /** password of `username` */
  password?: string;
  /** PEM CA bundle for https endpoints; the system roots when unset */
  caFile?: string;
  /** PEM client certificate for mutual TLS; requires `keyFile` */
  certFile?: string;
  /** PEM private key of `certFile` */
  keyFile?: string;
  /** deadline of every unary call in milliseconds; default 10000 */
  callTimeoutMs?: number;
}

export type EtcdSettingsFromEnv = EtcdSettings;

export function etcdSettings(env: Environment, problems: EnvironmentProblem[]): EtcdSettingsFromEnv | undefined {
  if (!env.ETCD_ENDPOINTS) {
    for (const name of ['ETCD_NAMESPACE', 'ETCD_USERNAME', 'ETCD_PASSWORD'] as const) {
      if (env[name])
        problems.push({ variable: name, message: 'is set but ETCD_ENDPOINTS is not: set ETCD_ENDPOINTS too' });
    }
    return undefined;
  }
  const endpoints = env.ETCD_ENDPOINTS.split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  for (const endpoint of endpoints) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
      problems.push({ variable: 'ETCD_ENDPOINTS', message: `"${endpoint}" is not an http(s)://host:port endpoint` });
    }
  }
  const plain = endpoints.find((endpoint) => endpoint.startsWith('http://'));
  const tlsFile = (['ETCD_CA_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE'] as const).find((name) => env[name]);
  if (plain && tlsFile) {
    problems.push({
      variable: tlsFile,
      message: `is set but ETCD_ENDPOINTS has ${plain}: TLS needs https:// endpoints (a plain endpoint would send the credentials unencrypted)`,
    });
  }
  if ((env.ETCD_USERNAME === undefined) !== (env.ETCD_PASSWORD === undefined)) {
    problems.push({
      variable: env.ETCD_USERNAME ? 'ETCD_PASSWORD' : 'ETCD_USERNAME',
      message: 'etcd needs both ETCD_USERNAME and ETCD_PASSWORD',
    });
  }
  if ((env.ETCD_CERT_FILE === undefined) !== (env.ETCD_KEY_FILE === undefined)) {
    problems.push({
      variable: env.ETCD_CERT_FILE ? 'ETCD_KEY_FILE' : 'ETCD_CERT_FILE',
      message: 'a client certificate needs both ETCD_CERT_FILE and ETCD_KEY_FILE',
    });
  }
  return {
    endpoints,
    namespace: env.ETCD_NAMESPACE ?? '',
    username: env.ETCD_USERNAME,
    password: env.ETCD_PASSWORD,
    caFile: env.ETCD_CA_FILE,
    certFile: env.ETCD_CERT_FILE,
    keyFile: env.ETCD_KEY_FILE,
  };
}
