/**
 * A real SMTP server on 127.0.0.1:0 (smtp-server) that parses every message it accepts (mailparser).
 * `rcptReply(address)` can answer a recipient with an SMTP error (e.g. 550 or 451) to test bounces and retries.
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface SmtpSink {
  port: number;
  messages: ParsedMail[];
  /** Resolves when `n` messages have been received in total. */
  waitFor(n: number): Promise<ParsedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpSink(
  opts: { rcptReply?: (address: string) => { code: number; message: string } | undefined } = {},
): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  const waiters: Array<{ n: number; resolve: (m: ParsedMail[]) => void }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      const r = opts.rcptReply?.(address.address);
      if (!r) return cb();
      const err = Object.assign(new Error(r.message), { responseCode: r.code });
      cb(err);
    },
    onData(stream, _session, cb) {
      simpleParser(stream, { skipImageLinks: true })
        .then((m) => {
          messages.push(m);
          for (const w of waiters.filter((w) => messages.length >= w.n)) w.resolve(messages);
          cb();
        })
        .catch((e: Error) => cb(e));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    messages,
    waitFor: (n) =>
      messages.length >= n
        ? Promise.resolve(messages)
        : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
