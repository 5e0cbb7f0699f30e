// The loaders the fuzz suites drive, each with a valid file to mutate and a check of what it read:
// a read is acceptable only when what came out is consistent (every tensor's values fill its
// shape, no more data than the bytes could hold, a graph whose weights fit it). Anything thrown
// must be a named project error (AlexnetError); anything else is a failure, as is a case that takes
// longer than HANG_MS.
import { AlexnetError } from '../src/errors.js';
import { checkWeights } from '../src/io/weights.js';
import { readOnnxModel } from '../src/io/onnx-import.js';
import { readPytorch } from '../src/io/pytorch.js';
import type { Tensor } from '../src/tensor.js';
import { sizeOf } from '../src/tensor.js';

export interface Loader {
  readonly name: string;
  /** a valid file, relative to test/ */
  readonly fixture: string;
  /** reads the bytes, returning undefined when the read is consistent, else why not */
  readonly load: (bytes: Uint8Array) => Promise<string | undefined> | string | undefined;
}

export type Outcome = { kind: 'refused' } | { kind: 'read' } | { kind: 'failure'; why: string };

const HANG_MS = 5000;

/** Tensors whose values fill their shapes, and no more float32 values than `bytes` could encode (float16 doubles them). */
function consistentTensors(tensors: ReadonlyMap<string, Tensor>, bytes: number): string | undefined {
  let floats = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== sizeOf(t.shape)) return `tensor ${name}: ${t.data.length} values for ${JSON.stringify(t.shape)}`;
    floats += t.data.length;
  }
  return floats * 2 > bytes + 64 ? `${floats} values from ${bytes} bytes` : undefined;
}

export const LOADERS: readonly Loader[] = [
  { name: 'PyTorch zip (.pth)', fixture: 'fixtures/pytorch/dtypes.pth', load: (b) => consistentTensors(readPytorch(b, 'fuzz.pth'), b.length) },
  { name: 'PyTorch legacy (.pth)', fixture: 'fixtures/pytorch/dtypes-legacy.pth', load: (b) => consistentTensors(readPytorch(b, 'fuzz.pth'), b.length) },
  {
    name: 'ONNX (.onnx)',
    fixture: 'fixtures/pytorch/tiny.onnx',
    load(b) {
      const m = readOnnxModel(b, 'fuzz.onnx');
      try {
        checkWeights(m.graph.params(), m.weights, 'fuzz.onnx');
      } catch (e) {
        // NaN or infinite weights are the file's values: loading the model refuses them later
        if (!(e instanceof AlexnetError && e.code === 'NONFINITE')) return `weights that do not fit the graph: ${(e as Error).message}`;
      }
      return consistentTensors(m.weights, b.length);
    },
  },
];

export async function runLoader(loader: Loader, bytes: Uint8Array): Promise<Outcome> {
  const start = performance.now();
  try {
    const why = await loader.load(bytes);
    if (why) return { kind: 'failure', why: `read inconsistently: ${why}` };
    return performance.now() - start > HANG_MS ? { kind: 'failure', why: `took ${(performance.now() - start).toFixed(0)} ms` } : { kind: 'read' };
  } catch (e) {
    if (performance.now() - start > HANG_MS) return { kind: 'failure', why: `took ${(performance.now() - start).toFixed(0)} ms before refusing` };
    return e instanceof AlexnetError ? { kind: 'refused' } : { kind: 'failure', why: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) };
  }
}
