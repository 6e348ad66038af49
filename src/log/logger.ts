/** The logging surface every module receives; events are objects, never sentences alone. */
export interface Logger {
  error(event: LogEvent): void;
  warn(event: LogEvent): void;
  info(event: LogEvent): void;
  debug(event: LogEvent): void;
}

/** One structured log record: `event` names it (`migration.applied`), the rest are its fields. */
export interface LogEvent {
  event: string;
  message?: string;
  [field: string]: unknown;
}
