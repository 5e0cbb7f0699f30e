// A wasm worker thread in a browser (a module Web Worker), the twin of worker.js: the same loop
// (worker-loop.js) on the same shared memory, so a page's threads give the same bits as Node's.
import { servePool } from './worker-loop.js';

self.onmessage = ({ data }) => servePool(data, (reply) => self.postMessage(reply));
