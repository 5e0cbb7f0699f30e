export { readNpy, writeNpy } from './npy.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export type { Safetensors } from './safetensors.js';
export { checkWeights, fromTorchvisionNames } from './weights.js';
export type { ExpectedParam } from './weights.js';
export { writeFileAtomic } from './atomic.js';
export { writeOnnx } from './onnx.js';
