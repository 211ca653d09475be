/**
 * A local SMTP sink for trying FTPZIP campaigns on a laptop (README "Email campaigns from a ZIP"): accepts every
 * message on 127.0.0.1 (default port 2525, `--port N`), saves it as `mail/<n>.eml` (`--dir D`) and prints one line
 * per message. Not part of datasync itself; it lives beside the benchmarks because, like them, it is a dev tool.
 *
 *   npm run smtp-sink            # then: DATASYNC_SMTP__PORT=2525 npm start
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '2525' }, dir: { type: 'string', default: 'mail' } },
});
const dir = path.resolve(values.dir);
fs.mkdirSync(dir, { recursive: true });
let n = fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).length;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks);
      // Read the envelope now: the session is reset for the next message once `cb` is called.
      const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
      const file = path.join(dir, `${String(++n).padStart(5, '0')}.eml`);
      fs.writeFileSync(file, raw);
      simpleParser(raw, { skipImageLinks: true })
        .then((m) => {
          const images = m.attachments.filter((a) => a.contentType.startsWith('image/')).length;
          console.log(
            `${path.relative(process.cwd(), file)}  ${to}  "${m.subject ?? ''}"  (${images} inline images)`,
          );
        })
        .catch((e: Error) => console.log(`${file}: saved (not parsed: ${e.message})`));
      cb();
    });
  },
});
server.listen(Number(values.port), '127.0.0.1', () =>
  console.log(`SMTP sink on 127.0.0.1:${values.port}, saving messages to ${dir}`),
);
