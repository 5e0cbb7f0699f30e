// A prefetch worker: opens the dataset itself and makes the batches it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { AlexnetError } from '../errors.js';
import { openDataset } from './datasets.js';
import type { WorkerData, WorkerReply, WorkerRequest } from './prefetch.js';
import { makeBatch } from './batches.js';

const { dataset: spec, pipeline } = workerData as WorkerData;
const dataset = await openDataset(spec);
const port = parentPort!;
// one batch at a time, in the order asked: the queue of messages is the queue of work
let queue = Promise.resolve();
port.on('message', (r: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const { x, labels } = await makeBatch(dataset, pipeline, r.seed, r.epoch, r.indices);
      port.postMessage({ id: r.id, x, labels } satisfies WorkerReply, [x.buffer, labels.buffer]);
    } catch (e) {
      const err = e as Error & { code?: string };
      const named = e instanceof AlexnetError;
      port.postMessage({ id: r.id, error: { name: named ? err.name : 'Error', code: err.code ?? 'INTERNAL', message: named ? err.message : (err.stack ?? String(e)) } } satisfies WorkerReply);
    }
  });
});
