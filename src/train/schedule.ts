// Learning-rate schedules. The paper's: "divide the learning rate by 10 when the validation error
// rate stopped improving with the current learning rate"; and a fixed-step alternative.

export type Schedule = { readonly kind: 'plateau'; readonly patience: number; readonly threshold: number } | { readonly kind: 'step'; readonly every: number };

/** What a schedule remembers between epochs (saved in checkpoints). */
export interface ScheduleState {
  readonly lr: number;
  /** the best validation error so far, and the epochs since it improved by more than the threshold */
  readonly best: number;
  readonly stale: number;
}

export function startSchedule(lr: number): ScheduleState {
  return { lr, best: Infinity, stale: 0 };
}

/** The state after an epoch `epoch` (0-based) that ended with validation error `error`. */
export function afterEpoch(s: Schedule, state: ScheduleState, epoch: number, error: number): ScheduleState {
  if (s.kind === 'step') return { ...state, best: Math.min(state.best, error), lr: (epoch + 1) % s.every === 0 ? state.lr / 10 : state.lr };
  if (error < state.best - s.threshold) return { lr: state.lr, best: error, stale: 0 };
  const stale = state.stale + 1;
  return stale >= s.patience ? { lr: state.lr / 10, best: Math.min(state.best, error), stale: 0 } : { ...state, stale };
}
