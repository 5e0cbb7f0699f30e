// Progress bars on stderr (cli-progress draws them), in the units the summary lines use: counts of
// images, a rate, and a time left computed from the rate so far (cli-progress's own ETA rounds
// seconds and minutes separately and prints "7m60s").
import { SingleBar } from 'cli-progress';

/** Seconds for people: "45s", "7m05s", "1h02m". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly bar: SingleBar;
  private began = 0;
  private total = 0;

  /** `fields`: payload names shown after the rate, e.g. ['loss', 'error'] */
  constructor(
    label: string,
    private readonly unit: string,
    fields: readonly string[] = [],
  ) {
    const extra = fields.map((f) => ` · ${f} {${f}}`).join('');
    this.bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} ${unit} · {rate} · {left} left${extra}`, hideCursor: true, clearOnComplete: false });
  }

  start(total: number, payload: Record<string, string> = {}): void {
    this.began = performance.now();
    this.total = total;
    this.bar.start(total, 0, { rate: '-', left: '?', ...payload });
  }

  update(done: number, payload: Record<string, string> = {}): void {
    const seconds = (performance.now() - this.began) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    this.bar.update(done, { rate: `${rate < 10 ? rate.toFixed(1) : rate.toFixed(0)} ${this.unit}/s`, left: duration((this.total - done) / rate), ...payload });
  }

  stop(): void {
    this.bar.stop();
  }
}

/** A bar on stderr when it is a terminal, else none (a log file wants no redrawn lines). */
export function progressBar(label: string, unit: string, fields: readonly string[] = []): ProgressBar | undefined {
  return process.stderr.isTTY ? new ProgressBar(label, unit, fields) : undefined;
}
