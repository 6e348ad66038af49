import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { repoRoot } from './deploy-files';

const dockerfilePath = join(repoRoot, 'docker/Dockerfile');
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
  license: string;
};

/** The base every stage uses: an exact official tag, which the compose end-to-end test rebuilds. */
const baseImage = 'node:24-bookworm-slim';
/** The build stage allowed another base: the official postgres image the pg tools come from. */
const pgToolsStage = 'pg-tools-source';
const requiredLabels = [
  'org.opencontainers.image.title',
  'org.opencontainers.image.description',
  'org.opencontainers.image.licenses',
  'org.opencontainers.image.version',
  'org.opencontainers.image.revision',
];

interface Stage {
  name: string | null;
  image: string | null;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as unknown as { getImage(): string | null; getBuildStage(): string | null };
      stages.push({ name: from.getBuildStage(), image: from.getImage(), instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

const argumentsOf = (instruction: Instruction) => instruction.getArguments().map((argument) => argument.getValue());

/** `["a", "b"]` of an exec-form instruction, or undefined for shell form. */
function execForm(instruction: Instruction | undefined): string[] | undefined {
  const content = instruction?.getArgumentsContent()?.trim();
  if (!content?.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(content);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const npmInstalls = (stage: Stage) =>
  stage.instructions
    .filter((instruction) => instruction.getKeyword() === 'RUN')
    .map((instruction) => instruction.getArgumentsContent() ?? '')
    .filter((command) => /\bnpm\s+(ci|install|i)\b/.test(command));

/** Every rule of issue 4 item 1 the Dockerfile breaks, as readable lines. */
function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const stages = stagesOf(text);
  if (stages.length < 2) problems.push(`not multi-stage: ${stages.length} FROM`);
  for (const stage of stages) {
    // The one exception: the stage pg_dump, pg_restore and psql are copied from (official postgres,
    // the Debian release of the Node base, so its libraries fit).
    if (stage.name === pgToolsStage && /^postgres:\d+-bookworm$/.test(stage.image ?? '')) continue;
    if (stage.image !== baseImage) problems.push(`stage ${stage.name ?? '?'} is FROM ${stage.image}, not ${baseImage}`);
  }
  const final = stages[stages.length - 1];
  if (!final) return problems;
  const last = (keyword: string) =>
    final.instructions.filter((instruction) => instruction.getKeyword() === keyword).pop();

  const user = last('USER')?.getArgumentsContent()?.trim();
  const uid = user?.split(':')[0];
  if (!uid) problems.push('final stage sets no USER');
  else if (!/^\d+$/.test(uid) || uid === '0')
    problems.push(`USER ${user} is not a numeric non-root uid (Kubernetes runAsNonRoot needs a number)`);

  const entrypoint = execForm(last('ENTRYPOINT'));
  const mainScript = `/app/${Object.values(packageJson.bin)[0]}`;
  if (!entrypoint) problems.push('ENTRYPOINT is missing or not exec form (a shell as PID 1 would swallow SIGTERM)');
  else if (entrypoint[0] !== 'node' || entrypoint[1] !== mainScript || entrypoint.length !== 2) {
    problems.push(`ENTRYPOINT is ${JSON.stringify(entrypoint)}, expected ["node", "${mainScript}"]`);
  }
  const cmd = execForm(last('CMD'));
  if (JSON.stringify(cmd) !== '["run"]') problems.push(`CMD is ${JSON.stringify(cmd)}, expected ["run"]`);
  if (last('WORKDIR')?.getArgumentsContent()?.trim() !== '/app') problems.push('final stage WORKDIR is not /app');

  // Backups, `rehearse` and `baseline` need PostgreSQL's client programs in the image (issue 15).
  const runs = final.instructions
    .filter((instruction) => instruction.getKeyword() === 'RUN')
    .map((instruction) => instruction.getArgumentsContent() ?? '')
    .join('\n');
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
    if (!new RegExp(`\\b${tool} --version`).test(runs)) problems.push(`final stage does not prove ${tool} runs`);
  }

  const env = final.instructions.filter((instruction) => instruction.getKeyword() === 'ENV').flatMap(argumentsOf);
  if (!env.includes('NODE_ENV=production')) problems.push('final stage does not set NODE_ENV=production');

  const labels = final.instructions
    .filter((instruction) => instruction.getKeyword() === 'LABEL')
    .flatMap((instruction) =>
      (
        instruction as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }
      ).getProperties(),
    );
  for (const label of requiredLabels) {
    if (!labels.some((property) => property.getName() === label)) problems.push(`missing label ${label}`);
  }
  const license = labels.find((property) => property.getName() === 'org.opencontainers.image.licenses')?.getValue();
  if (license && license.replace(/"/g, '') !== packageJson.license)
    problems.push(`licenses label ${license} ≠ package.json ${packageJson.license}`);

  for (const command of npmInstalls(final)) {
    if (!/--omit=dev\b/.test(command)) problems.push(`final stage installs dev dependencies: RUN ${command}`);
  }
  const copyInstructions = final.instructions.filter((instruction) => instruction.getKeyword() === 'COPY') as Copy[];
  const copies = copyInstructions.map(argumentsOf);
  for (const instruction of copyInstructions) {
    const from = instruction.getFromFlag()?.getValue();
    if (!argumentsOf(instruction).some((argument) => /node_modules\/?$/.test(argument)) || !from) continue;
    const source = stages.find((stage) => stage.name === from);
    const installs = source ? npmInstalls(source) : [];
    if (installs.length === 0 || installs.some((command) => !/--omit=dev\b/.test(command))) {
      problems.push(`node_modules comes from stage ${from}, which does not install with --omit=dev only`);
    }
  }
  // What package.json ships is what the runtime needs (README.md aside).
  // Type declarations are for library users of the npm package; the image runs the CLI only.
  for (const shipped of packageJson.files.filter((file) => file !== 'README.md' && !file.endsWith('.d.ts'))) {
    if (!copies.some((copy) => copy.some((argument) => argument.replace(/\/$/, '').endsWith(shipped)))) {
      problems.push(`final stage does not copy ${shipped} (package.json files)`);
    }
  }
  if (
    !stages
      .slice(0, -1)
      .some((stage) =>
        stage.instructions.some((instruction) => /\bnpm run build\b/.test(instruction.getArgumentsContent() ?? '')),
      )
  ) {
    problems.push('no build stage runs npm run build');
  }
  return problems;
}

test('the Dockerfile follows the image rules: multi-stage, official Node 24 base, non-root, exec-form entrypoint, labels, production dependencies', () => {
  assert.deepEqual(dockerfileProblems(readFileSync(dockerfilePath, 'utf8')), []);
});

test('the Dockerfile check rejects a single-stage, root, shell-form image with dev dependencies', () => {
  const broken = [
    'FROM node:20',
    'WORKDIR /srv',
    'COPY . .',
    'RUN npm install && npm run build',
    'ENTRYPOINT node dist/bundle/cli/preflight.js',
    'CMD run',
  ].join('\n');
  const problems = dockerfileProblems(broken);
  for (const expected of [
    'not multi-stage',
    'not node:24-bookworm-slim',
    'sets no USER',
    'not exec form',
    'CMD is',
    'installs dev dependencies',
    'missing label',
  ]) {
    assert.ok(
      problems.some((problem) => problem.includes(expected)),
      `expected a problem about "${expected}" in:\n${problems.join('\n')}`,
    );
  }
});

test('the Dockerfile check notices node_modules copied from a stage that installed dev dependencies', () => {
  const text = readFileSync(dockerfilePath, 'utf8').replace(
    /^USER /m,
    'COPY --from=build /src/node_modules ./node_modules\nUSER ',
  );
  assert.ok(dockerfileProblems(text).some((problem) => problem.includes('node_modules comes from stage build')));
});

test('the build context leaves out local state, secrets and build output', () => {
  const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  for (const entry of ['node_modules/', 'dist/', '.env', '.git/', 'compose/secrets/']) {
    assert.ok(ignored.includes(entry), `.dockerignore should list ${entry}`);
  }
  // What the build stage needs must stay in (patterns: `*` within a path segment, `dir/` a folder).
  const patterns = ignored.map(
    (entry) =>
      new RegExp(
        `^${entry
          .replace(/\/$/, '')
          .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')}(/|$)`,
      ),
  );
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'migrations', 'fixtures']) {
    assert.ok(!patterns.some((pattern) => pattern.test(needed)), `.dockerignore must not drop ${needed}`);
  }
});
