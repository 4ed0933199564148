// The process logger (server/src/main.ts, `make run`): JSON lines, or, in development on a terminal,
// one pretty-printed line per entry (pino-pretty, synchronous so that it keeps its order with what
// is printed by console.log, such as `make run`'s banner). Pretty-printing formats the line pino has
// already serialized, so the redaction of withSecretRedaction (redacting-logger.ts) applies to both.
import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogSettings } from '../config.js';

export type LogFormat = 'pretty' | 'json';

/** JSON in production and when the output is not a terminal (LOG_FORMAT=auto); otherwise as LOG_FORMAT says. */
export function resolveLogFormat(settings: Pick<LogSettings, 'format' | 'environment'>, isTerminal: boolean): LogFormat {
  if (settings.environment === 'production') return 'json';
  if (settings.format === 'auto') return isTerminal ? 'pretty' : 'json';
  return settings.format;
}

export interface CreateLoggerOptions {
  /** Where the lines go (default: stdout). */
  destination?: NodeJS.WritableStream;
  /** Whether the destination is a terminal (default: stdout's isTTY when writing to stdout, else false). */
  isTerminal?: boolean;
}

export function createLogger(settings: LogSettings, opts: CreateLoggerOptions = {}): Logger {
  const isTerminal = opts.isTerminal ?? (opts.destination === undefined && process.stdout.isTTY === true);
  if (resolveLogFormat(settings, isTerminal) === 'json') {
    return opts.destination ? pino({ level: settings.level }, opts.destination) : pino({ level: settings.level });
  }
  // The formatter without pino-pretty's stream: that one would treat `err` as an error object again,
  // printed over several lines; here errors too stay on their one line (the stack as an escaped string).
  const format = prettyFactory({
    singleLine: true,
    errorLikeObjectKeys: [],
    colorize: isTerminal,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  const out = opts.destination ?? pino.destination({ fd: 1, sync: true });
  return pino({ level: settings.level }, { write: (line: string) => void out.write(format(line)) });
}
