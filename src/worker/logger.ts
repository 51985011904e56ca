import pino, { type Logger } from 'pino';

/**
 * JSON logs with every configured secret value scrubbed from the final line, whatever field
 * or message it hid in (an error message quoting a URL with a password, a header dump...).
 */
export function createLogger(opts: { level: string; secrets: string[]; destination?: pino.DestinationStream }): Logger {
  const secrets = opts.secrets.filter((s) => s.length >= 4);
  return pino(
    {
      level: opts.level,
      base: { service: 'prompt-optimization-worker' },
      redact: { paths: ['*.authorization', '*.apiKey', '*.serviceRoleKey', '*.token', 'headers.authorization'], censor: '[redacted]' },
      hooks: {
        streamWrite: (line) => secrets.reduce((out, s) => out.split(s).join('[redacted]'), line),
      },
    },
    opts.destination,
  );
}
