// `alexnet convert`: any weights file we read (a PyTorch state dict, an ONNX model, our
// safetensors) written as our safetensors, with what is known about the model in its metadata
// (preset and options, class names, the preprocessing its origin implies, statistics when given).
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { writeFileAtomic, writeSafetensors } from '../io/index.js';
import { describedWeights, describeNetwork } from '../model-file.js';
import { openNetwork } from './model-files.js';
import type { ModelArgs } from './model-files.js';
import { addModelOptions } from './options.js';

export function convertCommand(): Command {
  return addModelOptions(new Command('convert').description('write weights (.pth, .onnx, .safetensors) as our safetensors, the model described in the metadata'), { help: 'told from the weights', classes: 'told from the weights', inChannels: 'told from the weights' })
    .argument('<in>', 'a PyTorch state dict (.pth, .pt), an ONNX model (.onnx) or a safetensors file')
    .argument('<out>', 'the safetensors file to write')
    .option('--labels <file>', 'class names to write into it, one per line (default: the file\'s own, else ImageNet\'s for 1000 classes)')
    .option('--stats <file>', 'dataset statistics (`alexnet stats`) to embed, for models that subtract a mean image')
    .action(async (input: string, out: string, o: ModelArgs, command: Command) => {
      const archGiven = command.getOptionValueSource('arch') === 'cli';
      const { model: network } = await openNetwork(o, input, archGiven);
      if (!network.config) throw new UsageError('NOT_PRESET', `${input} is ${describeNetwork(network)}, none of the presets: our safetensors describe preset models; run it as it is`);
      // the preprocessing only where the file's origin says it (Caffe's, for an ONNX zoo file); the
      // preset's own follows from the preset when the file is loaded
      const { tensors, metadata } = describedWeights(network.weights, {
        config: network.config,
        ...(network.named && { labels: network.labels }),
        ...(network.stats && { stats: network.stats }),
        ...(network.implied && { preprocessing: network.implied }),
      });
      await writeFileAtomic(out, writeSafetensors(tensors, metadata));
      process.stderr.write(`wrote ${out}: ${describeNetwork(network)}, ${network.graph.paramCount().toLocaleString('en-US')} parameters, from ${network.format}\n`);
    });
}
