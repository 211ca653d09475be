/**
 * Child process of bench/send.ts: a loopback SMTP sink (smtp-server) that accepts every message and only
 * counts it — no parsing — so the sink costs the sender as little CPU as possible and runs on its own event
 * loop. Tells the parent its port over IPC and answers `count` requests.
 */
import { SMTPServer } from 'smtp-server';

let accepted = 0;
let bytes = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 0,
  onData(stream, _session, cb) {
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.on('end', () => {
      accepted++;
      cb();
    });
  },
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.server.address();
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m) => {
  if (m === 'count') process.send?.({ accepted, bytes });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
