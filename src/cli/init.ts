// `alexnet init`: the paper's initialisation, written as safetensors.
import { Command } from 'commander';
import { writeFileAtomic, writeSafetensors } from '../io/index.js';
import { paperInit } from '../train/index.js';
import { addModelOptions, buildModel, modelConfig, seed } from './options.js';
import type { ModelOptions } from './options.js';

interface InitOptions extends ModelOptions {
  seed: number;
  out: string;
}

export function initCommand(): Command {
  return addModelOptions(new Command('init').description("write the paper's initialisation: weights ~ N(0, 0.01), biases 1 on conv2/4/5 and fc6/7, else 0"))
    .option('--seed <s>', 'seed of the generator; the same seed gives the same file, byte for byte', seed, 1)
    .requiredOption('--out <file>', 'where to write the weights (.safetensors)')
    .action(async (o: InitOptions) => {
      const graph = buildModel(o);
      const weights = paperInit(graph, { seed: o.seed });
      const config = modelConfig(o);
      const metadata: Record<string, string> = { format: 'pt', init: 'paper', seed: String(o.seed) };
      for (const [key, value] of Object.entries(config)) if (value !== undefined) metadata[key] = String(value);
      await writeFileAtomic(o.out, writeSafetensors(weights, metadata));
      process.stderr.write(`wrote ${o.out}: ${graph.paramCount().toLocaleString('en-US')} parameters (${o.arch}, seed ${o.seed})\n`);
    });
}
