/**
 * Email statistics (reference §3.4.2, latest action per recipient and link) and the combined file (§3.4.5):
 * exact files, byte for byte.
 */
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { addStatistics, addUnsubscriptions, exportSuite } from './export-fixtures.js';

const HEADER = 'idList;idInvio;idNl;email;subject;statusType;details;statusChange;sentDate';
const ROWS = [
  '1;1;161;carl@example.com;Spring sale;NCO;5.1.1;20260310T080100;20260310T080000',
  '1;1;161;anna@example.com;Spring sale;CLK;https://shop.example/a;20260310T101630;20260310T080000',
  '1;1;161;bob@example.com;Spring sale;OPN;;20260310T102000;20260310T080000',
  '1;1;161;zoe@example.com;Spring sale;CLK;https://shop.example/b?x=1,2;20260310T103100;20260310T080000',
  '1;1;161;zoe@example.com;Spring sale;CLK;https://shop.example/c;20260310T103200;20260310T080000',
  '1;1;161;zoe@example.com;Spring sale;CLK;https://shop.example/a;20260310T104000;20260310T080000',
];

describe.each(DIALECTS)('statistics export (%s)', (dialect) => {
  const t = exportSuite(dialect, addStatistics, addUnsubscriptions);

  it('one row per latest action: open+click → CLK, two opens → one OPN, three links → three CLK, bounce → NCO', async () => {
    await t.env.define({ id: 'stats', type: 'statistics' });
    const r = await t.env.run('stats');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe([HEADER, ...ROWS].join('\r\n') + '\r\n');
  });

  it('"," separator in windows-1252: the URL holding a comma is qualified; includeSent adds SNT rows; ip and user agent on demand', async () => {
    await t.env.define({
      id: 'stats',
      type: 'statistics',
      includeSent: true,
      columns: ['email', 'statusType', 'details', 'statusChange', 'ip', 'userAgent'],
      headers: { ip: 'IP', userAgent: 'User Agent' },
      file: { separator: ',', encoding: 'windows-1252', dateFormat: 'DD/MM/YYYY hh:mm:ss' },
    });
    const r = await t.env.run('stats');
    const expected =
      [
        'idList,subject,email,statusType,details,statusChange,IP,User Agent',
        '1,Spring sale,anna@example.com,SNT,,10/03/2026 08:00:00,,',
        '1,Spring sale,bob@example.com,SNT,,10/03/2026 08:00:00,,',
        '1,Spring sale,zoe@example.com,SNT,,10/03/2026 08:00:00,,',
        '1,Spring sale,carl@example.com,SNT,,10/03/2026 08:00:00,,',
        '1,Spring sale,carl@example.com,NCO,5.1.1,10/03/2026 08:01:00,,',
        '1,Spring sale,anna@example.com,CLK,https://shop.example/a,10/03/2026 10:16:30,,',
        '1,Spring sale,bob@example.com,OPN,,10/03/2026 10:20:00,,',
        '1,Spring sale,zoe@example.com,CLK,"https://shop.example/b?x=1,2",10/03/2026 10:31:00,,',
        '1,Spring sale,zoe@example.com,CLK,https://shop.example/c,10/03/2026 10:32:00,,',
        '1,Spring sale,zoe@example.com,CLK,https://shop.example/a,10/03/2026 10:40:00,,',
      ].join('\r\n') + '\r\n';
    expect((await t.env.read(r.file!)).equals(iconv.encode(expected, 'windows-1252'))).toBe(true);
  });

  it('the combined file (§3.4.5) merges unsubscriptions (UNS) and statistics in time order, email first', async () => {
    await t.env.define({ id: 'both', type: 'unsubscribers+statistics', file: { separator: '|' } });
    const r = await t.env.run('both');
    expect(r.file).toBe('unsubscribers-statistics_1_20260311050000.csv');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe(
      [
        'email|idList|idInvio|idNl|subject|statusType|details|statusChange|sentDate|optout_type',
        'carl@example.com|1|1|161|Spring sale|NCO|5.1.1|20260310T080100|20260310T080000|',
        'anna@example.com|1|1|161|Spring sale|CLK|https://shop.example/a|20260310T101630|20260310T080000|',
        'bob@example.com|1|1|161|Spring sale|OPN||20260310T102000|20260310T080000|',
        'zoe@example.com|1|1|161|Spring sale|CLK|https://shop.example/b?x=1,2|20260310T103100|20260310T080000|',
        'zoe@example.com|1|1|161|Spring sale|CLK|https://shop.example/c|20260310T103200|20260310T080000|',
        'zoe@example.com|1|1|161|Spring sale|CLK|https://shop.example/a|20260310T104000|20260310T080000|',
        'anna@example.com|1||||UNS||20260310T110000||01',
        'bob@example.com|1||161|Spring sale|UNS||20260310T110100||2',
      ].join('\r\n') + '\r\n',
    );
  });
});
