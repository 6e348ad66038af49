/**
 * `${NAME}` and `${NAME:-default}` in fixture values. The rules are deliberately narrower than
 * docker compose's, so that a secret such as `pa$$word` or `a$b` arrives exactly as written:
 *
 * - `${NAME}` is the variable's value (an error when unset; empty is kept);
 * - `${NAME:-default}` is the value, or `default` when the variable is unset or empty;
 * - `$${` is a literal `${` (the only escape);
 * - every other `$` is literal: `$$`, `$5`, `$HOME`, a trailing `$` all stay as they are.
 *
 * `${` that does not form one of the two references is an error naming the value, never guessed.
 * The environment is passed in: nothing under src/ reads process.env.
 */

/** The variables a fixture value may refer to. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Why a value could not be resolved; the caller adds file, line and key. */
export type SubstitutionProblem = { kind: 'config'; variable: string } | { kind: 'data'; reason: string };

/** The resolved value and the variables it read, or the first problem met while resolving it. */
export type SubstitutionResult = { value: string; variables: string[] } | { problem: SubstitutionProblem };

const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Replaces every `${...}` in `text` with its value from `env`. */
export function substitute(text: string, env: Environment): SubstitutionResult {
  let value = '';
  let index = 0;
  const variables: string[] = [];
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      value += text.slice(index);
      break;
    }
    value += text.slice(index, dollar);
    if (text.startsWith('$${', dollar)) {
      value += '${';
      index = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== '{') {
      value += '$';
      index = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) {
      return {
        problem: {
          kind: 'data',
          reason: `unterminated "\${" in value: close it with "}" or write "$\${" for a literal "\${"`,
        },
      };
    }
    const inner = text.slice(dollar + 2, close);
    const match = reference.exec(inner);
    if (match === null) {
      return {
        problem: {
          kind: 'data',
          reason: `"\${${inner}}" is not a variable reference: write \${NAME} or \${NAME:-default}, or "$\${" for a literal "\${"`,
        },
      };
    }
    const [, name, fallback] = match;
    const current = env[name];
    variables.push(name);
    if (current !== undefined && (current !== '' || fallback === undefined)) {
      value += current;
    } else if (fallback !== undefined) {
      value += fallback;
    } else {
      return { problem: { kind: 'config', variable: name } };
    }
    index = close + 1;
  }
  return { value, variables };
}
