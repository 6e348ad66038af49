/** The stores every scenario uses: the test harness's real PostgreSQL, etcd and Redis on loopback. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { Client } from 'pg';
import type { StackInfo } from '../test/support/stack';
import { baseEnv, scratchDir } from './process';

export class BenchContext {
  readonly etcd: Etcd3;
  private readonly admin: Client;

  private constructor(
    readonly info: StackInfo,
    admin: Client,
  ) {
    this.admin = admin;
    this.etcd = new Etcd3({
      hosts: info.etcd.endpoint,
      auth: { username: info.etcd.username, password: info.etcd.password },
    });
  }

  static async open(info: StackInfo): Promise<BenchContext> {
    const admin = new Client({ connectionString: info.postgres.adminUrl });
    await admin.connect();
    return new BenchContext(info, admin);
  }

  async close(): Promise<void> {
    this.etcd.close();
    await this.admin.end();
  }

  /** A new empty database; returns its URL. */
  async freshDatabase(label: string): Promise<string> {
    const name = `bench_${label}_${randomBytes(3).toString('hex')}`;
    await this.admin.query(`CREATE DATABASE "${name}"`);
    const { host, port, user, password } = this.info.postgres;
    return `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${name}`;
  }

  /** A new etcd namespace nobody has written to. */
  freshNamespace(label: string): string {
    return `/bench/${label}-${randomBytes(3).toString('hex')}`;
  }

  /** One statement against `url`, on a short-lived connection. */
  async query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** etcd's current revision: it moves on every write, anywhere. */
  async etcdRevision(): Promise<string> {
    const response = await this.etcd.kv.range({
      key: Buffer.from('/bench/'),
      range_end: Buffer.from('/bench0'),
      count_only: true,
    });
    return response.header.revision;
  }

  async etcdKeyCount(namespace: string): Promise<number> {
    const response = await this.etcd.kv.range({
      key: Buffer.from(`${namespace}/`),
      range_end: Buffer.from(`${namespace}0`),
      count_only: true,
    });
    return Number(response.count);
  }

  /**
   * The environment of a preflight run against these stores. `etcd` adds ETCD_* (and the
   * STORAGE_MOUNT the shipped fixtures need); `redis` adds REDIS_URL.
   */
  preflightEnv(parts: {
    databaseUrl: string;
    namespace?: string;
    redis?: boolean;
    extra?: Record<string, string>;
  }): Record<string, string> {
    const env: Record<string, string> = {
      ...baseEnv(),
      DATABASE_URL: parts.databaseUrl,
      LOG_FORMAT: 'json',
      PREFLIGHT_WAIT_TIMEOUT: '20s',
    };
    if (parts.namespace !== undefined) {
      Object.assign(env, {
        ETCD_ENDPOINTS: this.info.etcd.endpoint,
        ETCD_NAMESPACE: parts.namespace,
        ETCD_USERNAME: this.info.etcd.username,
        ETCD_PASSWORD: this.info.etcd.password,
        STORAGE_MOUNT: '/mnt/vfroot',
      });
    }
    if (parts.redis) env.REDIS_URL = this.info.redis.url;
    return { ...env, ...parts.extra };
  }

  /** A report file path in the scratch dir, for PREFLIGHT_REPORT_FILE. */
  reportFile(label: string): string {
    return path.join(scratchDir(), `report-${label}-${randomBytes(3).toString('hex')}.json`);
  }
}

export interface ReportStep {
  step: string;
  status: string;
  durationMs: number;
  details?: Record<string, unknown>;
}

export interface Report {
  status: string;
  durationMs: number;
  steps: ReportStep[];
}

export function readReport(file: string): Report {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
}

export function stepOf(report: Report, name: string): ReportStep {
  const found = report.steps.find((step) => step.step === name);
  if (!found)
    throw new Error(`the report has no ${name} step: ${JSON.stringify(report.steps.map((step) => step.step))}`);
  return found;
}
