// The schema of a benchmark result file (bench/results/*.json): what `npm run bench` writes and what
// the benchmark page downloads, so that both can be read by the same tools. The page's files carry
// `source: "page"`, the browser and its adapters, and no ladder of the wasm GEMMs or training rows.
import { z } from 'zod';

export const spreadSchema = z.object({ median: z.number(), min: z.number(), max: z.number(), samples: z.number().int().positive() });

export const networkRowSchema = z.object({
  system: z.string(),
  preset: z.string(),
  /** Channel width factor; 1 (full AlexNet) where absent. */
  width: z.number().positive().optional(),
  details: z.string(),
  threads: z.number().int().positive(),
  batch: z.number().int().positive(),
  msPerImage: spreadSchema,
  processMedians: z.array(z.number()).optional(),
  transferredPerImage: z.number().nonnegative(),
  /** Largest relative error of image 0's probabilities against the reference backend. */
  error: z.number().nonnegative(),
});

export const layersRowSchema = z.object({
  system: z.string(),
  preset: z.string(),
  width: z.number().positive(),
  threads: z.number().int().positive(),
  batch: z.number().int().positive(),
  details: z.string(),
  /** ms/image per node, in graph order. */
  layers: z.record(z.string(), z.number().nonnegative()),
  total: spreadSchema,
  error: z.number().nonnegative(),
  label: z.string().optional(),
});

export const ladderRungSchema = z.object({
  layer: z.string(),
  kernels: z.enum(['naive', 'tiled', 'direct']),
  batch: z.number().int().positive(),
  msPerImage: z.number().nonnegative(),
  gflops: z.number().nonnegative(),
  error: z.number().nonnegative(),
});

export const pageResultSchema = z.object({
  source: z.literal('page'),
  date: z.string(),
  machine: z.object({ browser: z.string(), cores: z.number().int().positive(), isolated: z.boolean(), adapters: z.array(z.object({ name: z.string(), vendor: z.string(), architecture: z.string(), software: z.boolean() })) }),
  quick: z.boolean(),
  network: z.array(networkRowSchema),
  layers: z.array(layersRowSchema),
  webgpuLadder: z.array(ladderRungSchema.extend({ adapter: z.string() })),
  /** Systems that did not run or gave a wrong answer, and why: never timed. */
  failures: z.array(z.object({ system: z.string(), batch: z.number().int().positive(), reason: z.string() })),
});

export type PageResult = z.infer<typeof pageResultSchema>;
export type NetworkResultRow = z.infer<typeof networkRowSchema>;
