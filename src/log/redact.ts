/** Replaces secrets in text: credentials inside URLs, and every known secret value wherever it appears. */
export type Redactor = (text: string) => string;

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]*)@/gi;
const passwordAssignment = /\b(password|passwd|pwd|requirepass|secret)(["']?\s*[=:]\s*["']?)([^\s"',;]+)/gi;

const mask = '***';

/** Below this length a secret is masked only where it stands alone, not inside longer words. */
const shortSecret = 4;

/**
 * Each secret is masked as it is, percent-encoded (inside URLs) and JSON-escaped (`"` `\\` and
 * control characters), so that text already serialised still has no secret in it.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const variants = new Set<string>();
  for (const secret of secrets) {
    // A one-character secret cannot be masked without masking that character in every message.
    if (secret.length < 2) continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
    variants.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is masked whole.
  const long = [...variants].filter((value) => value.length >= shortSecret).sort((a, b) => b.length - a.length);
  const short = [...variants].filter((value) => value.length < shortSecret).sort((a, b) => b.length - a.length);
  const standalone =
    short.length === 0
      ? undefined
      : new RegExp(`(?<![\\p{L}\\p{N}])(?:${short.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'gu');
  return (text) => {
    // The cheap tests first: the URL pattern backtracks over every word of a text that has no URL in it.
    let result = text.includes('://') ? text.replace(urlCredentials, `$1$2:${mask}@`) : text;
    result = result.replace(passwordAssignment, `$1$2${mask}`);
    for (const value of long) if (result.includes(value)) result = result.split(value).join(mask);
    if (standalone) result = result.replace(standalone, mask);
    return result;
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A deep copy of a log record with every string redacted. */
export function redactValue(value: unknown, redact: Redactor, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact, depth + 1));
  if (value instanceof Error) return redact(value.message);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    setOwn(copy, key, redactValue((value as Record<string, unknown>)[key], redact, depth + 1));
  }
  return copy;
}

/**
 * `object[key] = value` as an own property even for `__proto__`. A plain loop: Object.fromEntries
 * builds slow dictionary-mode objects, and logging every event paid for it (issue 15).
 */
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}
