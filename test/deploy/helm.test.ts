import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kubernetesValidator, parseYamlDocuments, repoRoot, type Manifest } from './deploy-files';
import { extractHelm } from './helm-binary';
import {
  manifestName,
  podFailurePolicyProblems,
  podHardeningProblems,
  podSpecOf,
  preflightWiringProblems,
} from './manifest-rules';

const chartDir = join(repoRoot, 'k8s/helm');
/** The oldest Kubernetes the chart is rendered for; podFailurePolicy is on by default since 1.26. */
const kubeVersion = '1.30.0';

let helm: ReturnType<typeof extractHelm>;
before(() => {
  helm = extractHelm();
});
after(() => helm?.remove());

function runHelm(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(helm.helmPath, args, {
    encoding: 'utf8',
    timeout: 60_000,
    // Helm's cache/config/data folders: keep them out of $HOME, which may be read-only in CI.
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(helm.helmPath, '../cache'),
      HELM_CONFIG_HOME: join(helm.helmPath, '../config'),
      HELM_DATA_HOME: join(helm.helmPath, '../data'),
    },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function render(extraArgs: string[] = []): Manifest[] {
  const { status, output } = runHelm([
    'template',
    'platform',
    chartDir,
    '--namespace',
    'platform',
    '--kube-version',
    kubeVersion,
    ...extraArgs,
  ]);
  assert.equal(status, 0, `helm template failed:\n${output}`);
  return parseYamlDocuments(output, 'helm template');
}

const annotationsOf = (manifest: Manifest) =>
  (manifest.metadata as { annotations?: Record<string, string> }).annotations ?? {};

test('helm lint passes, in strict mode', () => {
  const { status, output } = runHelm(['lint', '--strict', chartDir, '--kube-version', kubeVersion]);
  assert.equal(status, 0, output);
  assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('the rendered chart is valid against the strict Kubernetes schemas and follows the pod and exit-code rules', () => {
  const validate = kubernetesValidator();
  const manifests = render();
  assert.deepEqual(manifests.map((manifest) => manifest.kind).sort(), ['ConfigMap', 'Job', 'Secret']);
  for (const manifest of manifests) {
    const name = manifestName(manifest);
    assert.deepEqual(validate(manifest), [], name);
    assert.deepEqual(preflightWiringProblems(manifest), [], name);
    const pod = podSpecOf(manifest);
    if (pod) assert.deepEqual(podHardeningProblems(name, pod), []);
    if (manifest.kind === 'Job') assert.deepEqual(podFailurePolicyProblems(manifest), []);
  }
});

test('the Job is a pre-install/pre-upgrade and PreSync hook, its ConfigMap and Secret are hooks of lower weight', () => {
  const manifests = render();
  const job = manifests.find((manifest) => manifest.kind === 'Job')!;
  const jobWeight = Number(annotationsOf(job)['helm.sh/hook-weight']);
  for (const manifest of manifests) {
    const annotations = annotationsOf(manifest);
    const name = manifestName(manifest);
    assert.equal(annotations['helm.sh/hook'], 'pre-install,pre-upgrade', name);
    assert.equal(annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded', name);
    assert.equal(annotations['argocd.argoproj.io/hook'], 'PreSync', name);
    assert.ok(Number.isInteger(Number(annotations['helm.sh/hook-weight'])), `${name} hook-weight is an integer string`);
    if (manifest !== job) {
      assert.ok(Number(annotations['helm.sh/hook-weight']) < jobWeight, `${name} is created before the Job`);
      assert.ok(
        Number(annotations['argocd.argoproj.io/sync-wave']) <
          Number(annotationsOf(job)['argocd.argoproj.io/sync-wave']),
        `${name} syncs before the Job`,
      );
    }
  }
});

test('with an existing Secret the chart creates none and mounts that one', () => {
  const manifests = render(['--set', 'secrets.existingSecret=platform-db-credentials']);
  assert.ok(!manifests.some((manifest) => manifest.kind === 'Secret'));
  const volumes = podSpecOf(manifests.find((manifest) => manifest.kind === 'Job')!)?.volumes ?? [];
  assert.ok(volumes.some((volume) => volume.secret?.secretName === 'platform-db-credentials'));
});

test('with tls.secretName the chart mounts the CA and verifies the server (verify-full); without it, require', () => {
  const configOf = (manifests: Manifest[]) =>
    (manifests.find((manifest) => manifest.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data;
  assert.equal(configOf(render()).PGSSLMODE, 'require');
  const manifests = render([
    ...['--set', 'tls.secretName=store-ca', '--set', 'tls.clientCertificate=true'],
    ...['--set', 'tls.etcd=true', '--set', 'tls.redis=true'],
  ]);
  const validate = kubernetesValidator();
  for (const manifest of manifests) assert.deepEqual(validate(manifest), [], manifestName(manifest));
  const data = configOf(manifests);
  assert.equal(data.PGSSLMODE, 'verify-full');
  assert.equal(data.PGSSLROOTCERT, '/etc/preflight/tls/ca.crt');
  assert.equal(data.PGSSLKEY, '/etc/preflight/tls/tls.key');
  assert.equal(data.ETCD_CERT_FILE, '/etc/preflight/tls/tls.crt');
  assert.equal(data.REDIS_TLS_CA_FILE, '/etc/preflight/tls/ca.crt');
  const pod = podSpecOf(manifests.find((manifest) => manifest.kind === 'Job')!)!;
  assert.ok(pod.volumes?.some((volume) => volume.secret?.secretName === 'store-ca'));
  assert.deepEqual(podHardeningProblems('tls', pod), []);
  const overridden = render(['--set', 'tls.secretName=store-ca', '--set', 'env.PGSSLMODE=verify-ca']);
  assert.equal(configOf(overridden).PGSSLMODE, 'verify-ca');
});
