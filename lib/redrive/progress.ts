/**
 * One progress line on a terminal, rewritten in place (carriage return + erase line), at most ten
 * times a second so a fast run does not spend its time drawing.
 */
export interface Progress {
  update(text: string): void;
  /** Erases the line, so the report that follows starts clean. */
  done(): void;
}

export function createProgress(
  stream: { write(text: string): unknown; columns?: number },
  clock: () => number = Date.now,
  intervalMs = 100,
): Progress {
  let last = -Infinity;
  let shown = false;
  let pending: string | undefined;
  const draw = (text: string): void => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    shown = true;
    pending = undefined;
  };
  return {
    update(text) {
      pending = text;
      const now = clock();
      if (now - last < intervalMs) return;
      last = now;
      draw(text);
    },
    done() {
      if (pending !== undefined) draw(pending);
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
