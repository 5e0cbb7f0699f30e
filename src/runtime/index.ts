export { loadGraph, runGraph, Session, splitByDevice } from './run.js';
export type { NodeTiming, RunOptions, RunResult, Weights } from './run.js';
