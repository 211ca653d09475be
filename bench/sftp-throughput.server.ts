/** Child process of bench/sftp-throughput.ts: datasync's SFTP server alone, so its RSS can be read. */
import path from 'node:path';
import { pino } from 'pino';
import { createSftpServer, parseAuthorizedKeys } from '../src/sftp/index.js';
import { FileReadyBus, HostedSpaces } from '../src/spaces/index.js';

const dir = process.env.BENCH_DIR!;
const keys = parseAuthorizedKeys(process.env.BENCH_PUBKEY!);
const spaces = new HostedSpaces(path.join(dir, 'datasync', 'spaces'));
const server = createSftpServer(
  { host: '127.0.0.1', port: Number(process.env.BENCH_PORT), dataDir: path.join(dir, 'datasync') },
  {
    spaces,
    bus: new FileReadyBus(),
    logger: pino({ level: 'warn' }),
    users: {
      authenticatePassword: async () => null,
      authenticateKey: async (username, algo, data) =>
        username === 'bench' && keys.some((k) => k.algo === algo && k.keyBase64 === data.toString('base64'))
          ? { accountId: 'bench', username }
          : null,
    },
  },
);
await server.start();
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
