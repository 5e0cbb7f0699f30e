export { loadGraph, runGraph, Session } from './run.js';
export type { NodeTiming, RunOptions, RunResult, Weights } from './run.js';
