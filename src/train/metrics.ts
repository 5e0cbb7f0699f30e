// Top-1 / top-5 error, and the chart of a run's curves.
import type { ChartSpec } from '../charts.js';

/** Errors of probabilities [N, classes] against labels: the true class not first / not in the first five. */
export function topErrors(prob: Float32Array | Float64Array, labels: Int32Array, classes: number): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = prob.subarray(i * classes, (i + 1) * classes);
    const p = row[labels[i]];
    // classes ranked above the true one: ties count against it, so a constant output is wrong, and
    // so does NaN on either side, so a model that outputs NaN is wrong everywhere
    let above = 0;
    for (let c = 0; c < classes; c++) if (c !== labels[i] && !(row[c] < p)) above++;
    if (above >= 1) top1++;
    if (above >= 5) top5++;
  }
  return { top1: top1 / labels.length, top5: top5 / labels.length };
}

export interface EpochMetrics {
  /** 1 for the first epoch, as the console counts */
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

/**
 * A run's curves: the loss on its own axis above, the error rates in % below, against whole
 * epochs, with each learning-rate drop marked; legends outside the plots.
 */
export function trainingChart(rows: readonly EpochMetrics[]): ChartSpec {
  const last = Math.max(2, ...rows.map((r) => r.epoch));
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, last], nice: false }, axis: { tickMinStep: 1, format: 'd' } };
  const drops = rows.filter((r, i) => i > 0 && r.lr < rows[i - 1].lr).map((r) => ({ epoch: r.epoch - 0.5, label: `lr ${r.lr}` }));
  const marks = drops.length
    ? [
        { data: { values: drops }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x } },
        { data: { values: drops }, mark: { type: 'text', align: 'left', dx: 3, dy: 6, color: '#666', fontSize: 10 }, encoding: { x, y: { value: 0 }, text: { field: 'label' } } },
      ]
    : [];
  const panel = (title: string, yTitle: string, values: { epoch: number; series: string; value: number }[], zero: boolean) => ({
    width: 520,
    height: 170,
    title: { text: title, anchor: 'start' },
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero } },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'right' } },
          tooltip: [{ field: 'series' }, { field: 'epoch' }, { field: 'value', format: '.4~f' }],
        },
      },
      ...marks,
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: [
      panel('Loss (cross-entropy)', 'loss', rows.flatMap((r) => [{ epoch: r.epoch, series: 'training', value: r.train_loss }, { epoch: r.epoch, series: 'validation', value: r.val_loss }]), false),
      panel(
        'Error',
        'error (%)',
        rows.flatMap((r) => [
          { epoch: r.epoch, series: 'training top-1', value: 100 * r.train_error },
          { epoch: r.epoch, series: 'validation top-1', value: 100 * r.val_top1_error },
          { epoch: r.epoch, series: 'validation top-5', value: 100 * r.val_top5_error },
        ]),
        true,
      ),
    ],
    resolve: { scale: { color: 'independent' } },
  } as unknown as ChartSpec;
}
