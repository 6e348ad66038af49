/**
 * The rules the Kubernetes manifests (k8s/*.yaml and the rendered Helm chart) must follow beyond
 * their schemas: pod hardening, a podFailurePolicy keyed on preflight's exit-code table, and
 * secrets passed as files. Each check returns readable problem lines, empty when all is well.
 */
import { jobOptions } from '../../src/config/job-options';
import { exitCodes } from '../../src/core/errors';
import type { Manifest } from './deploy-files';

const knownExitCodes = new Set<number>(Object.values(exitCodes));
const knownOptions = new Set(Object.keys(jobOptions));

/** `kind/name` of a manifest, for messages. */
export function manifestName(manifest: Manifest): string {
  const metadata = (manifest.metadata ?? {}) as { name?: string };
  return `${String(manifest.kind)}/${metadata.name ?? '?'}`;
}

interface PodFailurePolicyRule {
  action: string;
  onExitCodes?: { containerName?: string; operator: string; values: number[] };
}

/** The podFailurePolicy rules of a Job manifest (none for other kinds). */
export function podFailurePolicyRules(manifest: Manifest): PodFailurePolicyRule[] {
  if (manifest.kind !== 'Job') return [];
  const spec = manifest.spec as { podFailurePolicy?: { rules?: PodFailurePolicyRule[] } };
  return spec.podFailurePolicy?.rules ?? [];
}

interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
  };
  terminationMessagePolicy?: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodSpec {
  restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; secret?: { secretName: string; defaultMode?: number } }[];
}

/** The pod template of a Job or Deployment, undefined for other kinds. */
export function podSpecOf(manifest: Manifest): PodSpec | undefined {
  if (manifest.kind !== 'Job' && manifest.kind !== 'Deployment') return undefined;
  return (manifest.spec as { template: { spec: PodSpec } }).template.spec;
}

/**
 * Everything wrong with a pod's hardening, as readable lines: non-root, read-only root, no
 * capabilities, no privilege escalation, seccomp, resources, termination message, /tmp, secrets
 * as read-only files.
 */
export function podHardeningProblems(name: string, pod: PodSpec): string[] {
  const problems: string[] = [];
  if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${name}: pod runAsNonRoot is not true`);
  if (typeof pod.securityContext?.runAsUser !== 'number' || pod.securityContext.runAsUser === 0) {
    problems.push(`${name}: pod runAsUser is not a non-zero number`);
  }
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
    problems.push(`${name}: pod seccompProfile is not RuntimeDefault`);
  const volumes = new Map((pod.volumes ?? []).map((volume) => [volume.name, volume]));
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const where = `${name} container ${container.name}`;
    const context = container.securityContext ?? {};
    if (context.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    for (const kind of ['requests', 'limits'] as const) {
      const values = container.resources?.[kind] ?? {};
      if (!values.cpu || !values.memory) problems.push(`${where}: resources.${kind} lacks cpu or memory`);
    }
    if (container.terminationMessagePolicy !== 'FallbackToLogsOnError') {
      problems.push(`${where}: terminationMessagePolicy is not FallbackToLogsOnError`);
    }
    const mounts = container.volumeMounts ?? [];
    const tmp = mounts.find((mount) => mount.mountPath === '/tmp');
    if (!tmp || !volumes.get(tmp.name)?.emptyDir) problems.push(`${where}: no emptyDir at /tmp`);
    for (const mount of mounts) {
      const secret = volumes.get(mount.name)?.secret;
      if (!secret) continue;
      if (mount.readOnly !== true) problems.push(`${where}: secret volume ${mount.name} is not mounted readOnly`);
      if (secret.defaultMode !== undefined && (secret.defaultMode & 0o007) !== 0) {
        problems.push(
          `${where}: secret volume ${mount.name} is readable by others (defaultMode ${secret.defaultMode.toString(8)})`,
        );
      }
    }
  }
  return problems;
}

/** Exit codes preflight fails with: everything in the table but success and `pending` (status/verify only). */
const failureExitCodes = Object.entries(exitCodes)
  .filter(([kind]) => kind !== 'ok' && kind !== 'pending')
  .map(([, code]) => code);

/** Everything wrong with a Job's podFailurePolicy, as readable lines. */
export function podFailurePolicyProblems(job: Manifest): string[] {
  const name = manifestName(job);
  const rules = podFailurePolicyRules(job);
  if (rules.length === 0) return [`${name}: no podFailurePolicy`];
  const problems: string[] = [];
  const spec = job.spec as { template: { spec: { restartPolicy?: string; containers: { name: string }[] } } };
  if (spec.template.spec.restartPolicy !== 'Never')
    problems.push(`${name}: podFailurePolicy needs restartPolicy: Never`);
  const actionOf = new Map<number, string>();
  for (const rule of rules) {
    if (!rule.onExitCodes) continue;
    const { containerName, values } = rule.onExitCodes;
    if (containerName && !spec.template.spec.containers.some((container) => container.name === containerName)) {
      problems.push(`${name}: rule names container ${containerName}, which the pod does not have`);
    }
    for (const code of values) {
      if (!knownExitCodes.has(code)) problems.push(`${name}: exit code ${code} is not in preflight's exit-code table`);
      if (!actionOf.has(code)) actionOf.set(code, rule.action);
    }
    if (values.join() !== [...new Set(values)].sort((a, b) => a - b).join()) {
      problems.push(`${name}: exit codes ${values.join(', ')} must be unique and ascending (API validation)`);
    }
  }
  for (const code of [exitCodes.usage, exitCodes.data, exitCodes.config]) {
    if (actionOf.get(code) !== 'FailJob') problems.push(`${name}: exit ${code} must fail the Job at once`);
  }
  for (const code of [exitCodes.unavailable, exitCodes.tempfail]) {
    if (actionOf.get(code) === 'FailJob' || !actionOf.has(code)) problems.push(`${name}: exit ${code} must be retried`);
  }
  for (const code of failureExitCodes) {
    if (!actionOf.has(code)) problems.push(`${name}: exit ${code} has no rule (decide whether a retry helps)`);
  }
  return problems;
}

/** preflight's containers (named `preflight`) of a Job or Deployment. */
function preflightContainers(manifest: Manifest) {
  const pod = podSpecOf(manifest);
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].filter(
    (container) => container.name === 'preflight',
  );
}

/**
 * Everything wrong with how a manifest configures preflight: PREFLIGHT_* names it does not know
 * (it would exit 78), passwords in a ConfigMap or plain env, *_FILE paths outside every mount.
 */
export function preflightWiringProblems(manifest: Manifest): string[] {
  const name = manifestName(manifest);
  const problems: string[] = [];
  if (manifest.kind === 'ConfigMap') {
    for (const variable of Object.keys((manifest.data ?? {}) as object)) {
      if (variable.startsWith('PREFLIGHT_') && !knownOptions.has(variable))
        problems.push(`${name}: unknown ${variable} (exit 78)`);
      const value = String((manifest.data as Record<string, unknown>)[variable]);
      if (
        (/PASSWORD|^DATABASE_URL$/.test(variable) && !variable.endsWith('_FILE')) ||
        /:\/\/[^@/\s]*:[^@/\s]*@/.test(value)
      ) {
        problems.push(`${name}: holds ${variable}; secrets belong in a Secret mounted as files`);
      }
    }
  }
  for (const container of preflightContainers(manifest)) {
    const mounts = (container.volumeMounts ?? []).map((mount) => mount.mountPath);
    const env = container.env ?? [];
    if (!env.some((variable) => variable.name === 'PGPASSWORD_FILE' || variable.name === 'DATABASE_URL_FILE')) {
      problems.push(`${name}: preflight gets no PGPASSWORD_FILE or DATABASE_URL_FILE`);
    }
    for (const variable of env) {
      if (variable.name.startsWith('PREFLIGHT_') && !knownOptions.has(variable.name))
        problems.push(`${name}: unknown ${variable.name} (exit 78)`);
      if (!variable.name.endsWith('_FILE') && /PASSWORD|DATABASE_URL/.test(variable.name)) {
        problems.push(`${name}: ${variable.name} as plain env; use ${variable.name}_FILE and a mounted Secret`);
      }
      if (variable.name.endsWith('_FILE') && !mounts.some((mount) => variable.value?.startsWith(`${mount}/`))) {
        problems.push(`${name}: ${variable.name}=${variable.value} is outside every volume mount`);
      }
    }
  }
  return problems;
}
