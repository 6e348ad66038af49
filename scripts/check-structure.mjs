// Part of `npm run lint`: the rules of docs/architecture.md that no linter checks.
//  1. layers: a file in src/ imports only from its own layer or the ones below it;
//  2. no import cycle between files in src/ (type-only imports aside), no file longer than 300 lines;
//  3b. process.env is read only in src/cli/main.ts;
//  3. no unused exports: every value (function, class, constant) exported from src/ is imported somewhere (src, tests,
//     migrations, scripts, bench) or re-exported by the library entry point src/index.ts.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const layers = [['core'], ['config', 'log'], ['postgres', 'etcd', 'redis'], ['job'], ['cli']];
const layerOf = (file) => {
  const folder = relative(join(root, 'src'), file).split('/')[0];
  const index = layers.findIndex((names) => names.includes(folder));
  return index === -1 ? layers.length : index;
};
const maxLines = 300;

function walk(dir, files = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git', 'schemas'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, files);
    else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

function resolveModule(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier).replace(/\.(js|mjs)$/, '');
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

const problems = [];
const files = ['src', 'test', 'migrations', 'scripts', 'bench'].flatMap((dir) => walk(join(root, dir)));
/** module file → names other files import from it ('*' for a namespace or dynamic import) */
const used = new Map();
const exported = new Map();
const use = (file, name) => used.set(file, (used.get(file) ?? new Set()).add(name));
/** src file → src files it imports values from */
const graph = new Map();

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const inSrc = file.startsWith(join(root, 'src') + '/');
  if (inSrc && text.split('\n').length > maxLines) {
    problems.push(`${relative(root, file)}: ${text.split('\n').length} lines (at most ${maxLines})`);
  }
  const checkLayer = (target, node) => {
    if (!inSrc || !target.startsWith(join(root, 'src') + '/')) return;
    if (layerOf(target) > layerOf(file)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      problems.push(`${relative(root, file)}:${line + 1}: imports ${relative(root, target)} from a layer above`);
    }
  };
  const visit = (node) => {
    // The process environment is read once, in src/cli/main.ts, and handed to src/config.
    if (
      inSrc &&
      !file.endsWith(join('src', 'cli', 'main.ts')) &&
      ts.isPropertyAccessExpression(node) &&
      node.getText() === 'process.env'
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      problems.push(`${relative(root, file)}:${line + 1}: reads process.env (only src/cli/main.ts may; pass it down)`);
    }
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const target = resolveModule(file, node.moduleSpecifier.text);
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly : node.isTypeOnly;
      if (target && inSrc && !typeOnly) graph.set(file, (graph.get(file) ?? new Set()).add(target));
      if (target) {
        checkLayer(target, node);
        const bindings = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
        if (ts.isImportDeclaration(node) && node.importClause?.name) use(target, 'default');
        if (!bindings || ts.isNamespaceImport(bindings) || ts.isNamespaceExport(bindings)) use(target, '*');
        else for (const element of bindings.elements) use(target, (element.propertyName ?? element.name).text);
      }
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      const target = resolveModule(file, node.arguments[0].text);
      if (target) {
        checkLayer(target, node);
        use(target, '*');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (inSrc) {
    const names = [];
    for (const statement of source.statements) {
      const isExported = ts.getCombinedModifierFlags(statement) & ts.ModifierFlags.Export;
      // Types that describe an exported function's parameters are part of its signature: only values count.
      if (!isExported || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) continue;
      if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) names.push(declaration.name.getText());
      } else if (statement.name) names.push(statement.name.text);
    }
    exported.set(file, names);
  }
}

// Cycles: a depth-first search that reports each back edge's loop once.
const state = new Map();
const stack = [];
const visitFile = (file) => {
  state.set(file, 'active');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'active') {
      const loop = stack.slice(stack.indexOf(next)).concat(next);
      problems.push(`import cycle: ${loop.map((path) => relative(root, path)).join(' → ')}`);
    } else if (!state.has(next)) visitFile(next);
  }
  stack.pop();
  state.set(file, 'done');
};
for (const file of graph.keys()) if (!state.has(file)) visitFile(file);

const entry = join(root, 'src/index.ts');
for (const [file, names] of exported) {
  if (file === entry || file.startsWith(join(root, 'src/cli/main'))) continue;
  const importers = used.get(file) ?? new Set();
  if (importers.has('*')) continue;
  for (const name of names) {
    if (!importers.has(name)) problems.push(`${relative(root, file)}: export ${name} is used by no other file`);
  }
}

if (problems.length > 0) {
  console.error(`check-structure: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(
  `check-structure: ${files.length} files, layers respected, no cycle, no file over ${maxLines} lines, no unused export`,
);
