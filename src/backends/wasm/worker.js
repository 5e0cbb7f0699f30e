// A wasm worker thread in Node (worker_threads); worker-loop.js is the loop, threads.ts the protocol.
import { parentPort } from 'node:worker_threads';
import { servePool } from './worker-loop.js';

parentPort.on('message', (message) => servePool(message, (reply) => parentPort.postMessage(reply)));
