import type { Writable } from 'node:stream';
import type { LogEvent, Logger } from './logger';
import { createRedactor, redactValue, setOwn } from './redact';

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  format: 'json' | 'pretty';
  /** secret values to mask in every record */
  secrets: readonly string[];
  /** where records go; stdout by default */
  stream?: Writable;
}

const severity = { error: 0, warn: 1, info: 2, debug: 3 } as const;

/**
 * One line per record, written synchronously to the stream as it happens: JSON with sorted keys
 * (`level`, `timestamp` and the event's fields), or readable text. Every string of every record is
 * redacted before it is formatted. Hand-written rather than winston: this is all preflight asked of
 * it, and loading winston cost ~25 ms of every run's start-up (issue 15).
 */
export function createLogger(options: LoggerOptions): Logger {
  const redact = createRedactor(options.secrets);
  const stream = options.stream ?? process.stdout;
  const format = options.format === 'json' ? jsonLine : prettyLine;
  // A reader that went away (`preflight status | head`) must not crash the job with EPIPE.
  if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  const write = (level: keyof typeof severity) => (event: LogEvent) => {
    if (severity[level] > severity[options.level]) return;
    const record = redactValue(event, redact) as LogEvent;
    if (record.message === '' || record.message === undefined) delete record.message;
    stream.write(`${format(level, new Date().toISOString(), record)}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug'), redact };
}

function jsonLine(level: string, timestamp: string, record: LogEvent): string {
  return stableStringify({ ...record, level, timestamp });
}

/** Readable, colour-free text: `12:00:01.123 info  migration.applied name=Init durationMs=12`. */
function prettyLine(level: string, timestamp: string, record: LogEvent): string {
  const { message, event, ...fields } = record;
  const text = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : stableStringify(value)}`)
    .join(' ');
  const head = message ? `${event} ${String(message)}` : String(event);
  return `${timestamp.slice(11, 23)} ${level.padEnd(5)} ${head}${text ? ` ${text}` : ''}`;
}

/** JSON with the keys of every object sorted, so records read the same run after run; cycles become "[Circular]". */
function stableStringify(value: unknown): string {
  return JSON.stringify(sortedCopy(value, new Set()));
}

function sortedCopy(value: unknown, path: Set<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (path.has(value)) return '[Circular]';
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  path.add(value);
  let copy: unknown;
  if (Array.isArray(value)) copy = value.map((item) => sortedCopy(item, path));
  else {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      setOwn(sorted, key, sortedCopy((value as Record<string, unknown>)[key], path));
    copy = sorted;
  }
  path.delete(value);
  return copy;
}
