/**
 * Shared helpers of the deployment tests: where the repository and its schemas are, YAML reading,
 * and the JSON-schema validators for Compose files and Kubernetes manifests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

/** The repository root: the nearest folder above this file with a package.json (dist/ has none). */
export const repoRoot = findRepoRoot(__dirname);

/** Schemas copied into the repository, so the tests need neither network nor ../shared. */
export const schemasDir = join(repoRoot, 'test/deploy/schemas');

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${start}`);
}

export type Manifest = Record<string, unknown>;

/**
 * Every non-empty document of a (multi-document) YAML text. YAML 1.1 merge keys (`<<: *anchor`)
 * are resolved as Compose and Kubernetes tooling do. Throws on any syntax error.
 */
export function parseYamlDocuments(text: string, source: string): Manifest[] {
  const documents = parseAllDocuments(text, { merge: true });
  if (!Array.isArray(documents)) return [];
  const manifests: Manifest[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) manifests.push(value as Manifest);
  }
  return manifests;
}

export function readYamlDocuments(path: string): Manifest[] {
  return parseYamlDocuments(readFileSync(path, 'utf8'), path);
}

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  // OpenAPI's number formats and timestamps: the structure is what these tests check.
  for (const format of ['int32', 'int64', 'double', 'byte', 'date-time']) ajv.addFormat(format, true);
  return ajv;
}

function loadSchema(path: string): object {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  // ajv 8 does not know the draft ids these files declare; the keywords they use are all draft-07.
  delete schema.$schema;
  return schema;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const extra =
      error.keyword === 'additionalProperties'
        ? ` (${String((error.params as { additionalProperty: string }).additionalProperty)})`
        : '';
    return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
  });
}

/** Validates Compose files against the Compose Specification schema. */
export function composeValidator(): (document: unknown) => string[] {
  const validate = newAjv().compile(loadSchema(join(schemasDir, 'compose-spec.json')));
  return (document) => (validate(document) ? [] : describeErrors(validate.errors));
}

/**
 * Validates Kubernetes manifests against the strict schemas, picking the schema by kind and
 * apiVersion (`Job` + `batch/v1` → job-batch-v1.json). Schemas compile once, on first use.
 */
export function kubernetesValidator(): (manifest: Manifest) => string[] {
  const ajv = newAjv();
  const compiled = new Map<string, ValidateFunction>();
  return (manifest) => {
    const kind = manifest.kind;
    const apiVersion = manifest.apiVersion;
    if (typeof kind !== 'string' || typeof apiVersion !== 'string') return ['/ has no kind or apiVersion'];
    const versionPart = apiVersion.includes('/') ? apiVersion.replace('/', '-') : apiVersion;
    const file = `${kind.toLowerCase()}-${versionPart.replace(/\./g, '-')}.json`;
    let validate = compiled.get(file);
    if (!validate) {
      const path = join(schemasDir, 'kubernetes', file);
      if (!existsSync(path)) return [`/ no schema for ${kind} ${apiVersion}: copy ${file} into ${dirname(path)}`];
      validate = ajv.compile(loadSchema(path));
      compiled.set(file, validate);
    }
    return validate(manifest) ? [] : describeErrors(validate.errors);
  };
}
