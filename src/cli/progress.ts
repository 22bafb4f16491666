import cliProgress from 'cli-progress';

/** How a long CLI job (export, import) shows how far it is, on stderr (stdout may carry its data or its --json summary). */
export interface Progress {
  /** Rows done so far, and the total when known. */
  update(rows: number, total: number | null): void;
  /** Stops the bar or the lines, with a last update. */
  stop(rows: number, total: number | null): void;
}

const rateOf = (rows: number, startedMs: number) => Math.round(rows / Math.max((performance.now() - startedMs) / 1000, 0.001));

/**
 * On a terminal, a live bar with rows done, rows/s and ETA (cli-progress). Otherwise (stderr piped
 * or sent to a file or a log), one plain line every `everyMs`, so logs get a heartbeat, not a
 * bar's control characters.
 */
export function progressOnStderr(verb: string, options: { isTerminal: boolean; everyMs: number }): Progress {
  const started = performance.now();
  if (options.isTerminal) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${verb} |{bar}| {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 50,
        fps: 5,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let isStarted = false;
    const update = (rows: number, total: number | null) => {
      if (!isStarted) {
        bar.start(total ?? rows, rows, { rate: 0 });
        isStarted = true;
      }
      if (total === null || rows > total) bar.setTotal(rows);
      bar.update(rows, { rate: rateOf(rows, started) });
    };
    return {
      update,
      stop(rows, total) {
        update(rows, total);
        bar.stop();
      },
    };
  }
  let lastLine = performance.now();
  const line = (rows: number, total: number | null) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = rateOf(rows, started);
    const of = total === null ? '' : ` of ${total}`;
    const eta = total !== null && rate > 0 && rows < total ? `, about ${Math.ceil((total - rows) / rate)} s left` : '';
    process.stderr.write(`${verb} ${rows}${of} rows in ${seconds.toFixed(1)} s (${rate} rows/s${eta})\n`);
  };
  return {
    update(rows, total) {
      if (performance.now() - lastLine < options.everyMs) return;
      lastLine = performance.now();
      line(rows, total);
    },
    stop: line,
  };
}
