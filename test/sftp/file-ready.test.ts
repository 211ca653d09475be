/** "File ready" semantics with ssh2's client: cut transfers fire nothing; 20 concurrent sessions fire exactly 200. */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh2, p, startHarness, type Harness } from './sftp-harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('file ready events', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ username: 'u1', accountId: 'acme', password: 'pw1' }], {
      maxSessionsPerUser: 30,
    });
  });
  afterAll(() => h?.stop());

  it('fires nothing for a transfer cut mid-way, keeps the partial file, and fires when it is resumed', async () => {
    const data = randomBytes(600_000);
    const { client, sftp } = await connectSsh2(h.port, 'u1', 'pw1');
    const handle = await p.open(sftp, '/import/cut.csv', 'w');
    await p.write(sftp, handle, data.subarray(0, 200_000), 0);
    const closed = new Promise<void>((r) => client.on('close', () => r()));
    client.destroy(); // the network goes away: no CLOSE request
    await closed;
    // The server has closed the handle once a new session sees the partial file at its final size.
    const again = await connectSsh2(h.port, 'u1', 'pw1');
    expect((await p.stat(again.sftp, '/import/cut.csv')).size).toBe(200_000);
    expect(h.ready.events).toEqual([]);
    // Resume (what `reput` does): open without truncating, append the rest, close.
    const h2 = await p.open(again.sftp, '/import/cut.csv', 'r+');
    await p.write(again.sftp, h2, data.subarray(200_000), 200_000);
    await p.close(again.sftp, h2);
    await h.ready.waitFor(1);
    expect(h.ready.events).toHaveLength(1);
    expect(h.ready.events[0]).toMatchObject({
      path: '/import/cut.csv',
      size: data.length,
      sha256: sha(data),
    });
    again.client.end();
  });

  it('20 concurrent sessions × 10 files → exactly 200 events with the right sha256', async () => {
    const before = h.ready.events.length;
    const expected = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 20 }, async (_, s) => {
        const { client, sftp } = await connectSsh2(h.port, 'u1', 'pw1');
        for (let f = 0; f < 10; f++) {
          const body = randomBytes(1000 + s * 997 + f * 131);
          const path = `/import/s${s}-f${f}.csv`;
          expected.set(path, sha(body));
          await p.writeFile(sftp, path, body);
        }
        client.end();
      }),
    );
    await h.ready.waitFor(before + 200);
    const got = h.ready.events.slice(before);
    expect(got).toHaveLength(200);
    expect(new Map(got.map((e) => [e.path, e.sha256]))).toEqual(expected);
    const files = await fs.readdir(h.spaces.resolve('acme', '/import'));
    expect(files.filter((f) => f.startsWith('s'))).toHaveLength(200);
    const metrics = await h.registry.getSingleMetricAsString('datasync_sftp_files_ready_total');
    expect(metrics).toMatch(/datasync_sftp_files_ready_total \d+/);
  });

  it('fires on rename into place for temporary upload names, not on their close', async () => {
    const before = h.ready.events.length;
    const { client, sftp } = await connectSsh2(h.port, 'u1', 'pw1');
    const body = Buffer.from('x;y\n1;2\n');
    await p.writeFile(sftp, '/import/late.csv.filepart', body);
    await p.rename(sftp, '/import/late.csv.filepart', '/import/late.csv');
    await h.ready.waitFor(before + 1);
    expect(h.ready.events.slice(before)).toEqual([
      expect.objectContaining({ path: '/import/late.csv', size: body.length, sha256: sha(body) }),
    ]);
    client.end();
  });
});
