export { Graph } from './graph.js';
export type { GraphNode, NodeSpec, ParamSpec } from './graph.js';
export { defOf, opDefs } from './ops.js';
export type { Op, OpOf, OpType, ParamShape } from './ops.js';
