/**
 * The client's log sink. Only the client's own sentences reach it (method, URI, status, message ids),
 * never headers or bodies, so credentials and tokens cannot be logged.
 */
export interface RedfishLogger {
  debug(message: string): void;
  warn(message: string): void;
}

export const silentLogger: RedfishLogger = { debug: () => undefined, warn: () => undefined };

/** A logger that keeps every line, for tests and the CLI's `--verbose`. */
export function memoryLogger(): RedfishLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => void lines.push(`debug: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
  };
}

export function stderrLogger(verbose: boolean): RedfishLogger {
  return {
    debug: (m) => {
      if (verbose) process.stderr.write(`debug: ${m}\n`);
    },
    warn: (m) => void process.stderr.write(`warning: ${m}\n`),
  };
}
