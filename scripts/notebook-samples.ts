// Writes the notebook's sample images: the first test image of each Fashion-MNIST class (the
// dataset is MIT-licensed; Debian's dataset-fashion-mnist package), as 8-bit grey PNGs named by class.
// Run: npx tsx scripts/notebook-samples.ts
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, openDataset } from '../src/data/datasets.js';

const test = await openDataset({ kind: 'fashion-mnist', dir: FASHION_MNIST_DIR, split: 'test' });
const out = new URL('../models/mini-fashion/samples/', import.meta.url);
const index: { file: string; label: string; testIndex: number }[] = [];
for (const [label, name] of FASHION_MNIST_CLASSES.entries()) {
  let i = 0;
  while (test.label(i) !== label) i++;
  const img = await test.load(i, 1);
  const png = new PNG({ width: img.width, height: img.height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(img.data);
  const file = `${name.toLowerCase().replace(/[^a-z]+/g, '-')}.png`;
  writeFileSync(new URL(file, out), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
  index.push({ file, label: name, testIndex: i });
}
writeFileSync(new URL('index.json', out), `${JSON.stringify(index, null, 2)}\n`);
