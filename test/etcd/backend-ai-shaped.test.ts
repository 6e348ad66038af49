import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { etcdNamespace, preflightEnv, runCli, tempDir } from '../support/context';

/**
 * JSON files shaped like Backend.AI's configs/manager/sample.etcd.*.json (written for this test, not
 * copied), loaded as they are through two-line sidecars, with `preflight fixtures apply`. The
 * expected keys and values are what Backend.AI's `put-json` writes for the same files (computed
 * with Python's json.load, urllib.parse.quote(k, safe='') and str(v)), except where preflight
 * deliberately stores the value as written in the file: booleans (`true`, not Python's `True`) and
 * number spellings (`1.50` and `-1.25e2`, not `1.5` and `-125.0`).
 */
const configSample = `{
  "system": {
    "timezone": "UTC"
  },
  "redis": {
    "addr": "127.0.0.1:8111",
    "password": "develove$$"
  },
  "docker": {
    "image": {
      "auto_pull": "digest"
    },
    "registry": {
      "cr.backend.ai": {
        "": "https://cr.backend.ai",
        "type": "harbor2",
        "project": "stable,community,multiarch"
      },
      "index.docker.io": {
        "": "https://registry-1.docker.io",
        "username": "lablup"
      }
    }
  },
  "images": {
    "lablup/python:3.9": "cr.backend.ai/stable/python:3.9-ubuntu20.04",
    "my image": "a b"
  },
  "plugins": {
    "accelerator": {
      "cuda": {}
    },
    "scheduler": {
      "fifo": {
        "num_retries_to_skip": 3
      }
    }
  },
  "watcher": {
    "token": "watcher-token-x",
    "file-io-timeout": 60.0
  },
  "network": {
    "overlay": {
      "mtu": 1500
    },
    "rpc": {
      "keepalive-timeout": 5.0
    }
  },
  "idle": {
    "enabled": "timeout,utilization",
    "app-streaming-packet-timeout": "5m",
    "checkers": {
      "utilization": {
        "initial-grace-period": 1.50,
        "resource-thresholds": {
          "cpu_util": {"average": 30},
          "cuda.mem": {"average": -1.25e2}
        }
      }
    }
  },
  "api": {
    "allow-origins": "*",
    "max-wsmsg-size": 16777216,
    "allow-graphql-schema-introspection": false,
    "allow-openapi-schema-introspection": true
  },
  "naïve-설정": {
    "日本語/キー": "値",
    "a:b@c~d": "x"
  }
}
`;
const sentinelSample = `{
  "redis": {
    "sentinel": "127.0.0.1:9503,127.0.0.1:9504,127.0.0.1:9505",
    "service_name": "mymaster",
    "password": "develove$$"
  }
}
`;
const volumesSample = `{
  "_mount": "/mnt/vfroot",
  "_fsprefix": "/",
  "_default_host": "local:volume1",
  "proxies": {
    "local": {
      "client_api": "http://127.0.0.1:6021",
      "manager_api": "https://127.0.0.1:6022",
      "secret": "storage-proxy-secret-$$x",
      "ssl_verify": false
    }
  },
  "exposed_volume_info": "percentage"
}
`;

const putJson: Record<string, string> = {
  'config/system/timezone': 'UTC',
  'config/redis/addr': '127.0.0.1:8111',
  'config/redis/password': 'develove$$',
  'config/docker/image/auto_pull': 'digest',
  'config/docker/registry/cr.backend.ai': 'https://cr.backend.ai',
  'config/docker/registry/cr.backend.ai/type': 'harbor2',
  'config/docker/registry/cr.backend.ai/project': 'stable,community,multiarch',
  'config/docker/registry/index.docker.io': 'https://registry-1.docker.io',
  'config/docker/registry/index.docker.io/username': 'lablup',
  'config/images/lablup%2Fpython%3A3.9': 'cr.backend.ai/stable/python:3.9-ubuntu20.04',
  'config/images/my%20image': 'a b',
  'config/plugins/scheduler/fifo/num_retries_to_skip': '3',
  'config/watcher/token': 'watcher-token-x',
  'config/watcher/file-io-timeout': '60.0',
  'config/network/overlay/mtu': '1500',
  'config/network/rpc/keepalive-timeout': '5.0',
  'config/idle/enabled': 'timeout,utilization',
  'config/idle/app-streaming-packet-timeout': '5m',
  'config/idle/checkers/utilization/initial-grace-period': '1.5',
  'config/idle/checkers/utilization/resource-thresholds/cpu_util/average': '30',
  'config/idle/checkers/utilization/resource-thresholds/cuda.mem/average': '-125.0',
  'config/api/allow-origins': '*',
  'config/api/max-wsmsg-size': '16777216',
  'config/api/allow-graphql-schema-introspection': 'False',
  'config/api/allow-openapi-schema-introspection': 'True',
  'config/na%C3%AFve-%EC%84%A4%EC%A0%95/%E6%97%A5%E6%9C%AC%E8%AA%9E%2F%E3%82%AD%E3%83%BC': '値',
  'config/na%C3%AFve-%EC%84%A4%EC%A0%95/a%3Ab%40c~d': 'x',
  'config/redis/sentinel': '127.0.0.1:9503,127.0.0.1:9504,127.0.0.1:9505',
  'config/redis/service_name': 'mymaster',
  'volumes/_mount': '/mnt/vfroot',
  'volumes/_fsprefix': '/',
  'volumes/_default_host': 'local:volume1',
  'volumes/proxies/local/client_api': 'http://127.0.0.1:6021',
  'volumes/proxies/local/manager_api': 'https://127.0.0.1:6022',
  'volumes/proxies/local/secret': 'storage-proxy-secret-$$x',
  'volumes/proxies/local/ssl_verify': 'False',
  'volumes/exposed_volume_info': 'percentage',
};

/** Where preflight stores the file's own text and put-json Python's str() of the parsed value. */
const deliberate: Record<string, { putJson: string; preflight: string }> = {
  'config/api/allow-graphql-schema-introspection': { putJson: 'False', preflight: 'false' },
  'config/api/allow-openapi-schema-introspection': { putJson: 'True', preflight: 'true' },
  'volumes/proxies/local/ssl_verify': { putJson: 'False', preflight: 'false' },
  'config/idle/checkers/utilization/initial-grace-period': { putJson: '1.5', preflight: '1.50' },
  'config/idle/checkers/utilization/resource-thresholds/cuda.mem/average': { putJson: '-125.0', preflight: '-1.25e2' },
};

test("Backend.AI-shaped sample files load with two-line sidecars and give put-json's key set", async () => {
  const etcd = await etcdNamespace();
  try {
    const dir = tempDir('preflight-backend-ai-');
    const files: Record<string, string> = {
      'sample.etcd.config.json': configSample,
      'sample.etcd.redis-sentinel.json': sentinelSample,
      'sample.etcd.volumes.json': volumesSample,
      '10-config.yaml': 'prefix: config\ndata-file: sample.etcd.config.json\n',
      // Layering: the sentinel sample replaces config/redis/password, so it says override (one line).
      '20-redis.yaml': '{prefix: config, override: true, data-file: sample.etcd.redis-sentinel.json}\n',
      '30-volumes.yaml': 'prefix: volumes\ndata-file: sample.etcd.volumes.json\n',
      'README.md': 'notes are skipped',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const env = await preflightEnv({ db: { url: 'unused' }, etcd });
    delete env.DATABASE_URL;
    const result = await runCli(['fixtures', 'apply'], { ...env, PREFLIGHT_FIXTURES: dir });
    assert.equal(result.code, 0, result.stdout + result.stderr);

    const stored = await etcd.client.getAll().prefix(`${etcd.namespace}/`).strings();
    const keys = Object.fromEntries(
      Object.entries(stored)
        .map(([key, value]) => [key.slice(etcd.namespace.length + 1), value])
        .filter(([key]) => !key.startsWith('_preflight/')),
    );
    const expected = { ...putJson };
    for (const [key, { putJson: written, preflight }] of Object.entries(deliberate)) {
      assert.equal(expected[key], written, `put-json writes ${written} for ${key}`);
      expected[key] = preflight;
    }
    assert.deepEqual(keys, expected);
    assert.ok(!('config/plugins/accelerator/cuda' in keys), 'an empty mapping writes nothing');
    assert.equal(keys['config/redis/password'], 'develove$$', 'a $$ in a value is literal');
    assert.deepEqual(
      result.lines
        .filter((line) => line.event === 'fixtures.override')
        .map(({ file, key, earlier }) => [file, key, earlier]),
      [['20-redis.yaml', 'config/redis/password', '10-config.yaml']],
    );
    assert.deepEqual(
      Object.keys(stored).filter((key) => key.includes('/_preflight/')).length,
      3,
      'one record per sidecar',
    );

    const rerun = await runCli(['fixtures', 'diff'], { ...env, PREFLIGHT_FIXTURES: dir });
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  } finally {
    await etcd.close();
  }
});
