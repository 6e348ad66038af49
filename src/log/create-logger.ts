import type { Writable } from 'node:stream';
import winston from 'winston';
import type { LogEvent, Logger } from './logger';
import { createRedactor, redactValue, type Redactor } from './redact';

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  format: 'json' | 'pretty';
  /** secret values to mask in every record */
  secrets: readonly string[];
  /** where records go; stdout by default */
  stream?: Writable;
}

/** The one place records are redacted: every string of every record, before any format sees it. */
function redaction(redact: Redactor) {
  return winston.format((info) => {
    for (const key of Object.keys(info)) info[key] = redactValue(info[key], redact);
    if (info.message === '') delete info.message;
    return info;
  })();
}

/** Readable, colour-free text: `12:00:01.123 info  migration.applied name=Init durationMs=12`. */
const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, event, ...fields } = info;
  const text = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const time = String(timestamp).slice(11, 23);
  const head = message ? `${event} ${message}` : String(event);
  return `${time} ${level.padEnd(5)} ${head}${text ? ` ${text}` : ''}`;
});

export function createLogger(options: LoggerOptions): Logger {
  const redact = createRedactor(options.secrets);
  const logger = winston.createLogger({
    level: options.level,
    format: winston.format.combine(
      redaction(redact),
      winston.format.timestamp(),
      options.format === 'json' ? winston.format.json() : pretty,
    ),
    transports: [
      options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console(),
    ],
  });
  const write = (level: string) => (event: LogEvent) => {
    const { message, ...fields } = event;
    logger.log({ level, message: message ?? '', ...fields });
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug'), redact };
}
