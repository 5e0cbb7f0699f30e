// Top-1 / top-5 error, and the SVG plot of a run's curves.

/** Errors of probabilities [N, classes] against labels: the true class not first / not in the first five. */
export function topErrors(prob: Float32Array | Float64Array, labels: Int32Array, classes: number): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = prob.subarray(i * classes, (i + 1) * classes);
    const p = row[labels[i]];
    // classes ranked above the true one (ties count against it, so a constant output is wrong)
    let above = 0;
    for (let c = 0; c < classes; c++) if (c !== labels[i] && row[c] >= p) above++;
    if (above >= 1) top1++;
    if (above >= 5) top5++;
  }
  return { top1: top1 / labels.length, top5: top5 / labels.length };
}

export interface EpochMetrics {
  readonly epoch: number;
  readonly lr: number;
  readonly train_loss: number;
  readonly train_error: number;
  readonly val_loss: number;
  readonly val_top1_error: number;
  readonly val_top5_error: number;
  readonly images_per_s: number;
  readonly elapsed_s: number;
}

/** Training loss and the two error rates per epoch, as a small standalone SVG. */
export function plotSvg(rows: readonly EpochMetrics[]): string {
  const [w, h, m] = [640, 360, 48];
  const epochs = Math.max(1, rows.length);
  const x = (e: number): number => m + ((w - 2 * m) * e) / epochs;
  const maxLoss = Math.max(1e-9, ...rows.map((r) => Math.max(r.train_loss, r.val_loss)));
  const yLoss = (v: number): number => h - m - ((h - 2 * m) * v) / maxLoss;
  const yErr = (v: number): number => h - m - (h - 2 * m) * v;
  const line = (pts: [number, number][], colour: string, label: string, at: number): string =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>` +
    `<text x="${w - m - 150}" y="${m + 16 * at}" fill="${colour}" font-size="12">${label}</text>`;
  const pts = (f: (r: EpochMetrics) => number, y: (v: number) => number): [number, number][] => rows.map((r) => [x(r.epoch + 1), y(f(r))]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<line x1="${m}" y1="${h - m}" x2="${w - m}" y2="${h - m}" stroke="black"/><line x1="${m}" y1="${m}" x2="${m}" y2="${h - m}" stroke="black"/>`,
    `<text x="${w / 2}" y="${h - 12}" font-size="12" text-anchor="middle">epoch</text>`,
    `<text x="${m - 6}" y="${m}" font-size="11" text-anchor="end">100%</text><text x="${m - 6}" y="${h - m}" font-size="11" text-anchor="end">0</text>`,
    line(pts((r) => r.train_loss, yLoss), '#1f77b4', `train loss (max ${maxLoss.toFixed(2)})`, 0),
    line(pts((r) => r.val_loss, yLoss), '#9ecae1', 'validation loss', 1),
    line(pts((r) => r.train_error, yErr), '#d62728', 'train error', 2),
    line(pts((r) => r.val_top1_error, yErr), '#ff9896', 'validation top-1 error', 3),
    '</svg>',
  ].join('\n');
}
