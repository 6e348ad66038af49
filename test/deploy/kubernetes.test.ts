import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { kubernetesValidator, parseYamlDocuments, readYamlDocuments, repoRoot } from './deploy-files';
import {
  manifestName,
  podFailurePolicyProblems,
  podHardeningProblems,
  podSpecOf,
  preflightWiringProblems,
} from './manifest-rules';

const k8sDir = join(repoRoot, 'k8s');
const manifestFiles = readdirSync(k8sDir).filter((file) => /\.ya?ml$/.test(file));
const manifests = manifestFiles.flatMap((file) =>
  readYamlDocuments(join(k8sDir, file)).map((manifest) => ({ file, manifest })),
);
const validate = kubernetesValidator();

test('k8s/ holds the init-container Deployment, the Job and their configuration', () => {
  const kinds = manifests.map(({ manifest }) => manifest.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'Job', 'Secret']);
  const deployment = manifests.find(({ manifest }) => manifest.kind === 'Deployment')!.manifest;
  assert.equal(podSpecOf(deployment)?.initContainers?.[0]?.name, 'preflight');
});

test('every Kubernetes manifest in k8s/ is valid against the strict schemas', () => {
  assert.ok(manifests.length >= 4);
  for (const { file, manifest } of manifests) {
    assert.deepEqual(validate(manifest), [], `${file} ${manifestName(manifest)}`);
  }
});

test('the strict schema rejects a misspelt field', () => {
  const [broken] = parseYamlDocuments(
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata: {name: broken}',
      'spec:',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      '        - name: preflight',
      '          image: preflight:local',
      '          comand: ["run"]',
    ].join('\n'),
    'broken job',
  );
  assert.ok(
    validate(broken).some((error) => error.includes('comand')),
    'comand: should be rejected',
  );
});

test('the Job has a deadline, a TTL, a retry budget and a podFailurePolicy keyed on the exit-code table', () => {
  const jobs = manifests.filter(({ manifest }) => manifest.kind === 'Job').map(({ manifest }) => manifest);
  assert.ok(jobs.length > 0);
  for (const job of jobs) {
    const spec = job.spec as {
      backoffLimit?: number;
      activeDeadlineSeconds?: number;
      ttlSecondsAfterFinished?: number;
    };
    assert.ok(
      spec.backoffLimit !== undefined &&
        spec.activeDeadlineSeconds !== undefined &&
        spec.ttlSecondsAfterFinished !== undefined,
    );
    assert.deepEqual(podFailurePolicyProblems(job), []);
  }
});

test('the podFailurePolicy check rejects an exit code preflight does not have and a retried config error', () => {
  const [job] = parseYamlDocuments(
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata: {name: bad-policy}',
      'spec:',
      '  podFailurePolicy:',
      '    rules:',
      '      - {action: FailJob, onExitCodes: {containerName: preflight, operator: In, values: [2, 42, 65]}}',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers: [{name: preflight, image: preflight:local}]',
    ].join('\n'),
    'bad policy',
  );
  const problems = podFailurePolicyProblems(job);
  assert.ok(
    problems.some((problem) => problem.includes('exit code 42 is not')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((problem) => problem.includes('exit 78 must fail')),
    problems.join('\n'),
  );
});

test('every pod runs hardened: non-root, read-only root, no capabilities, resources, /tmp emptyDir, secrets as read-only files', () => {
  for (const { file, manifest } of manifests) {
    const pod = podSpecOf(manifest);
    if (pod) assert.deepEqual(podHardeningProblems(`${file} ${manifestName(manifest)}`, pod), []);
  }
});

test('preflight reads passwords from mounted secret files and is configured only with variables it knows', () => {
  for (const { file, manifest } of manifests) {
    assert.deepEqual(preflightWiringProblems(manifest), [], file);
  }
});
