export { assembleLayers, layerNodes, partition } from './partition.js';
export type { Partitioned, Placement, Transfer, TransferReason } from './partition.js';
