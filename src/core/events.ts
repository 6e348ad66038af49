/**
 * What the job tells the world while it runs, as typed events (umzug's migrating/migrated, made
 * explicit). The pipeline and the executor emit them; the logger, the report, rehearse, baseline and
 * tests subscribe. Nobody wraps the logger or digs in a report's details to learn what happened.
 */

export type StepName = 'wait' | 'check' | 'lock' | 'plan' | 'backup' | 'migrate' | 'seed' | 'fixtures';
export type StepStatus = 'applied' | 'unchanged' | 'skipped' | 'failed';
export type Direction = 'up' | 'down';

export type JobEvent =
  | { type: 'step.finished'; step: StepName; status: StepStatus; durationMs: number; details?: Record<string, unknown> }
  | { type: 'lock.acquired'; waitedMs: number }
  /** the job held the lock shared, found something to write, and now holds it exclusively: the steps after the lock run again */
  | { type: 'lock.upgraded'; waitedMs: number; reason: string }
  /** a migration's statements are about to run (`transaction`: inside a transaction of its own or the run's) */
  | { type: 'migration.started'; name: string; direction: Direction; transaction: boolean }
  /** its effects and its records committed (or, outside a transaction, completed) */
  | {
      type: 'migration.finished';
      name: string;
      direction: Direction;
      durationMs: number;
      transaction: boolean;
      attempts: number;
    }
  /** the baseline snapshot recorded these migrations as applied in one step */
  | { type: 'baseline.applied'; names: string[]; durationMs: number };

type Listener = (event: JobEvent) => void;

/** A tiny synchronous event bus: listeners run in subscription order; one that throws cannot stop the job. */
export class JobEvents {
  private readonly listeners: Listener[] = [];

  /** Subscribes; returns the function that unsubscribes. */
  on(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  emit(event: JobEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A subscriber's bug (a report, a test probe) must never change what the job does.
      }
    }
  }
}
