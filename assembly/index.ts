// WASM SIMD kernels of the wasm backend. Stateless functions over raw pointers into one (shared)
// memory the host manages; nothing here allocates, so any number of threads may call them at once.
// Parallel kernels take (part, parts) and compute their share of the work.
import { EDGE_BYTES, MR } from './gemm';

export { conv2d, convScratchFloats, padPlanes, spaceToDepth } from './conv';
export { winograd, winogradScratchFloats } from './winograd';
export { micro4x8, micro6x8 } from './gemm';
export { linearGemm, linearGemv, packedRowsFloats, packRows } from './linear';
export { lrn } from './lrn';
export { avgpool, maxpool } from './pool';
export { relu, softmax } from './elementwise';
export { col2imImages, im2colImages, lrnBackward, maxpoolBackward, sgemmPack, sgemmPackFloats, sgemmTiles } from './train';

/** Bumped when an export's meaning changes; the host refuses a build with another version. */
export function abiVersion(): i32 {
  return 7;
}

/** Rows per A panel (6 with relaxed SIMD, else 4): the host sizes packed weights with it. */
export function panelRows(): i32 {
  return MR;
}

/** Bytes of the partial-tile buffer each thread needs (conv2d and FC take `edges`, one per thread). */
export function edgeBytes(): i32 {
  return <i32>EDGE_BYTES;
}

/** First byte the host may use: static data ends below it. */
export function heapBase(): usize {
  return __heap_base;
}
