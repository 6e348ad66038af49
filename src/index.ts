/** preflight as a library: the same functions the CLI commands call. */
export { loadConfig, type Config } from './config';
export { parseDuration, formatDuration } from './core/duration';
export { createLogger, type LoggerOptions } from './log/create-logger';
export type { Logger, LogEvent } from './log/logger';
export { exitCodes, PreflightError, type ErrorKind } from './core/errors';
export { runJob, type JobOutcome } from './job/run-job';
export { JobEvents, type JobEvent, type StepName, type StepStatus } from './core/events';
export type { JobReport, StepRecord } from './job/report';
export { status, type Status } from './job/status';
export { dropInvalidIndex } from './postgres/invalid-index';
