/** The logging surface every module receives; events are objects, never sentences alone. */
export interface Logger {
  error(event: LogEvent): void;
  warn(event: LogEvent): void;
  info(event: LogEvent): void;
  debug(event: LogEvent): void;
  /** The one redactor, set up once with every secret: for text that leaves by another way (the report, a child's stderr). */
  redact(text: string): string;
}

/** One structured log record: `event` names it (`migration.applied`), the rest are its fields. */
export interface LogEvent {
  event: string;
  message?: string;
  [field: string]: unknown;
}
