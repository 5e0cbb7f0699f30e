// `alexnet init`: the paper's initialisation, written as safetensors.
import { Command } from 'commander';
import { writeFileAtomic, writeSafetensors } from '../io/index.js';
import { describedWeights } from '../model-file.js';
import { paperInit } from '../train/index.js';
import { addModelOptions, buildModel, modelConfig, seed } from './options.js';
import type { ModelOptions } from './options.js';

interface InitOptions extends ModelOptions {
  seed: number;
  out: string;
}

export function initCommand(): Command {
  return addModelOptions(new Command('init').description("write the paper's initialisation: weights ~ N(0, 0.01), biases 1 on conv2/4/5 and fc6/7, else 0"), { help: 'paper', fallback: 'paper' })
    .option('--seed <s>', 'seed of the generator; the same seed gives the same file, byte for byte', seed, 1)
    .requiredOption('--out <file>', 'where to write the weights (.safetensors)')
    .action(async (o: InitOptions) => {
      const graph = buildModel(o);
      const weights = paperInit(graph, { seed: o.seed });
      const { tensors, metadata } = describedWeights(weights, { config: modelConfig(o) }, { init: 'paper', seed: String(o.seed) });
      await writeFileAtomic(o.out, writeSafetensors(tensors, metadata));
      process.stderr.write(`wrote ${o.out}: ${graph.paramCount().toLocaleString('en-US')} parameters (${o.arch}, seed ${o.seed})\n`);
    });
}
