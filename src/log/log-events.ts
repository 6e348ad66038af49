import type { JobEvents } from '../core/events';
import type { Logger } from './logger';

/** The job's typed events as log records (`migration.started`, `migration.applied`, …); returns the unsubscribe. */
export function logJobEvents(events: JobEvents, log: Logger): () => void {
  return events.on((event) => {
    switch (event.type) {
      case 'migration.started':
        log.info({
          event: event.direction === 'up' ? 'migration.started' : 'revert.started',
          name: event.name,
          transaction: event.transaction,
        });
        return;
      case 'migration.finished':
        log.info({
          event: event.direction === 'up' ? 'migration.applied' : 'migration.reverted',
          name: event.name,
          durationMs: event.durationMs,
          ...(event.attempts > 1 ? { attempts: event.attempts } : {}),
        });
        return;
      case 'step.finished':
        log.debug({ event: 'step.finished', step: event.step, status: event.status, durationMs: event.durationMs });
        return;
      case 'baseline.applied':
      case 'lock.acquired':
      case 'lock.upgraded':
        // Logged where they happen, with more detail than the event carries.
        return;
    }
  });
}
