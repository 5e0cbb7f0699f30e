// A wasm worker thread (see threads.ts). For each pool it is lent to, it gets the module, the shared
// memory and the control block, instantiates the kernels on that memory, and runs its share of
// every kernel call published in the control block until told to exit; then it waits, idle, for
// the next pool. Plain JavaScript so that it runs as is from src/ (tests) and from dist/.
import { parentPort } from 'node:worker_threads';

const [GENERATION, DONE, KERNEL, ARGC, FAILED] = [0, 1, 2, 3, 4];
const SPINS = 20000; // a short spin catches back-to-back kernels without a futex sleep

parentPort.on('message', ({ module, memory, controlOffset, part, parts, kernels }) => {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const control = new Int32Array(memory.buffer, controlOffset, 16);
  const args = new Float64Array(memory.buffer, controlOffset + 64, 32);
  let seen = Atomics.load(control, GENERATION);
  parentPort.postMessage('ready');
  for (;;) {
    for (let i = 0; i < SPINS && Atomics.load(control, GENERATION) === seen; i++);
    Atomics.wait(control, GENERATION, seen);
    seen = Atomics.load(control, GENERATION);
    const kernel = control[KERNEL];
    if (kernel < 0) break;
    try {
      exports[kernels[kernel]](...args.subarray(0, control[ARGC]), part, parts);
    } catch (e) {
      console.error(`wasm worker ${part}: ${kernels[kernel]} failed:`, e);
      Atomics.store(control, FAILED, 1);
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
  parentPort.postMessage('idle');
});
