// `alexnet stats`: a training set's mean image and RGB pixel PCA, in one streaming pass.
import { Command, Option } from 'commander';
import { isGreyDataset, openDataset, resolveDataset } from '../data/datasets.js';
import type { Split } from '../data/datasets.js';
import { computeStats, writeStats } from '../data/stats.js';
import { writeFileAtomic } from '../io/index.js';
import { PREPROCESSING, PRESETS } from '../models/index.js';
import type { Preset } from '../models/index.js';
import { positiveInt } from './options.js';
import { progressBar } from './progress.js';

interface StatsOptions {
  out: string;
  split: Split;
  arch: Preset;
  resize?: number;
  channels?: '1' | '3';
  json?: boolean;
}

export function statsCommand(): Command {
  return new Command('stats')
    .description('compute a dataset\'s mean image and RGB pixel PCA (for mean subtraction and colour augmentation)')
    .argument('<data>', 'an image folder (one subfolder per class), a folder of Fashion-MNIST IDX files, or "fashion-mnist"')
    .requiredOption('--out <file>', 'where to write the statistics (.safetensors)')
    .addOption(new Option('--split <split>', 'which split of the dataset').choices(['train', 'test']).default('train'))
    .addOption(new Option('--arch <preset>', 'take --resize from this preset\'s preprocessing').choices(PRESETS).default('paper'))
    .option('--resize <s>', 'the side images are rescaled and centre-squared to (default: the preset\'s, 256)', positiveInt)
    .addOption(new Option('--channels <c>', 'decode images as grey (1) or RGB (3) (default: 1 for grey data, else 3)').choices(['1', '3']))
    .option('--json', 'machine-readable summary')
    .action(stats);
}

async function stats(data: string, o: StatsOptions): Promise<void> {
  const spec = resolveDataset(data, o.split);
  const dataset = await openDataset(spec);
  const resize = o.resize ?? PREPROCESSING[o.arch].resize;
  const grey = await isGreyDataset(dataset);
  const channels = o.channels ? (Number(o.channels) as 1 | 3) : grey ? 1 : 3;
  if (!o.channels) process.stderr.write(`${grey ? 'grey' : 'colour'} images: ${channels} channel${channels > 1 ? 's' : ''} (--channels says otherwise)\n`);
  else if (grey && channels === 3) process.stderr.write('the images are grey: their three channels are equal, so only the first principal component has any variance\n');
  const bar = progressBar('stats', 'images');
  bar?.start(dataset.length);
  const done = await computeStats(dataset, resize, channels, (n) => bar?.update(n)).finally(() => bar?.stop());
  await writeFileAtomic(o.out, writeStats(done, spec.dir));
  const round = (a: ArrayLike<number>): number[] => Array.from(a, (v) => Number(v.toPrecision(6)));
  const summary = { images: done.images, resize, pixel_mean: round(done.pixelMean), pca_eigenvalues: round(done.eigenvalues), out: o.out };
  if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    process.stdout.write(`${done.images} images of ${spec.dir} at ${resize}x${resize}\n`);
    process.stdout.write(`pixel mean ${summary.pixel_mean.join(' ')}; PCA eigenvalues ${summary.pca_eigenvalues.join(' ')}\n`);
    process.stdout.write(`wrote ${o.out}\n`);
  }
}
