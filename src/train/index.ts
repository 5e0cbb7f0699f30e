export { PAPER_UNIT_BIASES, paperInit } from './init.js';
export type { InitOptions } from './init.js';
