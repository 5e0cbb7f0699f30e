// The loop of a wasm worker thread, the same in Node (worker.js) and in a browser (web-worker.js);
// threads.ts explains the protocol. For each pool it is lent to, it gets the module, the shared
// memory and the control block, instantiates the kernels on that memory, and runs its share of
// every kernel call published in the control block until told to exit; then `post('idle')` and it
// waits for the next pool. Plain JavaScript so that it runs as is from src/ (tests) and dist/.
const [GENERATION, DONE, KERNEL, ARGC, FAILED] = [0, 1, 2, 3, 4];
const SPINS = 20000; // a short spin catches back-to-back kernels without a futex sleep

/** Serves one pool: `message` is what threads.ts posts, `post` answers it. */
export function servePool({ module, memory, controlOffset, part, parts, kernels, jitterMs }, post) {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const control = new Int32Array(memory.buffer, controlOffset, 16);
  const args = new Float64Array(memory.buffer, controlOffset + 64, 32);
  const pause = jitterMs > 0 ? pauser(jitterMs) : () => {};
  let seen = Atomics.load(control, GENERATION);
  post('ready');
  for (;;) {
    // Run only on a generation not yet run. A wake-up is no proof of one: the caller's notify for
    // the generation this worker has just finished can arrive after it went back to sleep.
    let generation;
    for (let i = 0; (generation = Atomics.load(control, GENERATION)) === seen; i++) {
      if (i >= SPINS) Atomics.wait(control, GENERATION, seen);
    }
    seen = generation;
    pause();
    const kernel = control[KERNEL];
    if (kernel < 0) break;
    try {
      exports[kernels[kernel]](...args.subarray(0, control[ARGC]), part, parts);
    } catch (e) {
      console.error(`wasm worker ${part}: ${kernels[kernel]} failed:`, e);
      Atomics.store(control, FAILED, 1);
    }
    pause();
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
  post('idle');
}

/** Testing only (threads.ts, jitterMs): a random pause of up to `ms` at half the calls. */
function pauser(ms) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return () => {
    if (Math.random() < 0.5) Atomics.wait(cell, 0, 0, Math.random() * ms);
  };
}
