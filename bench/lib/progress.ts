// A one-line progress bar on stderr: done/total, rate and ETA. On a terminal it
// redraws in place (\r); piped into a log it prints a line every few seconds.

const WIDTH = 24;

const grouped = (n: number) => Math.round(n).toLocaleString('en-US').replaceAll(',', ' ');

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface Progress {
  /** `done` counts from the start of the whole job, including earlier runs. */
  update(done: number): void;
  finish(done: number): void;
}

export function progressBar(label: string, total: number, startedAt: number): Progress {
  const stream = process.stderr;
  const startTime = performance.now();
  let lastPrint = 0;
  const line = (done: number) => {
    const seconds = (performance.now() - startTime) / 1000;
    // The rate counts only this run's rows: a resumed run starts at `startedAt`.
    const rate = seconds > 0 ? (done - startedAt) / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    return `${label} [${bar}] ${grouped(done)}/${grouped(total)} ${(fraction * 100).toFixed(1)}% · ${grouped(rate)}/s · ETA ${formatDuration(eta)}`;
  };
  return {
    update(done) {
      if (stream.isTTY) {
        stream.write(`\r${line(done)}\x1b[K`);
        return;
      }
      if (performance.now() - lastPrint < 5000) return;
      lastPrint = performance.now();
      stream.write(`${line(done)}\n`);
    },
    finish(done) {
      stream.write(stream.isTTY ? `\r${line(done)}\x1b[K\n` : `${line(done)}\n`);
    },
  };
}
