export { Graph } from './graph.js';
export type { GraphNode, NodeSpec, ParamSpec } from './graph.js';
export { defOf, isSquare, opDefs, slide, windowOf } from './ops.js';
export type { Op, OpOf, OpType, Pads, Pair, ParamShape, Window } from './ops.js';
