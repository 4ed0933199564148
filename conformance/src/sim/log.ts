// How the simulator reports what it does: one function, levels, one line per event. The library is
// silent by default; the CLI prints `info` (and `debug` with --verbose).
export type SimLogLevel = 'debug' | 'info' | 'warn' | 'error';

export type SimLog = (level: SimLogLevel, message: string) => void;

export const silentLog: SimLog = () => undefined;

/** A console logger: `[sim <tag>] message`; debug lines only when `verbose`. */
export function consoleLog(opts: { verbose?: boolean; stream?: NodeJS.WritableStream } = {}): SimLog {
  const out = opts.stream ?? process.stderr;
  return (level, message) => {
    if (level === 'debug' && !opts.verbose) return;
    const tag = level === 'info' || level === 'debug' ? '' : ` ${level.toUpperCase()}`;
    out.write(`${new Date().toISOString()}${tag} ${message}\n`);
  };
}
