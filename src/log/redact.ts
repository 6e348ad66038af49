/** Replaces secrets in text: credentials inside URLs, and every known secret value wherever it appears. */
export type Redactor = (text: string) => string;

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi;
const passwordAssignment = /\b(password|passwd|pwd|requirepass|secret)(["']?\s*[=:]\s*["']?)([^\s"',;]+)/gi;

const mask = '***';

export function createRedactor(secrets: readonly string[]): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  const values = [...new Set(secrets.filter((secret) => secret.length >= 3))].sort((a, b) => b.length - a.length);
  const encodedValues = values.map((value) => encodeURIComponent(value)).filter((value) => !values.includes(value));
  const all = [...values, ...encodedValues];
  return (text) => {
    let result = text.replace(urlCredentials, `$1$2:${mask}@`).replace(passwordAssignment, `$1$2${mask}`);
    for (const value of all) result = result.split(value).join(mask);
    return result;
  };
}

/** A deep copy of a log record with every string redacted. */
export function redactValue(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact, depth + 1));
  if (value instanceof Error) return redact(value.message);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item, redact, depth + 1)]));
}
