/** SMS delivery-report webhooks: matched to the sent event by provider id, idempotent, token in the query. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken, recordEvents } from '../../src/http/index.js';
import { upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { eventsOf, seedAccount, startHarness, type Harness } from './http-harness.js';

describe.each(DIALECTS)('SMS delivery reports (%s)', (dialect) => {
  let h: Harness;
  let carol: number;
  beforeEach(async () => {
    h = await startHarness(dialect);
    await seedAccount(h);
    carol = (await upsertRecipient(h.store.db, { accountId: 'acme', mobile: '+393471234567', listId: 1 }))
      .recipient.id;
    await recordEvents(h.store, 'acme', [
      {
        kind: 'sent',
        channel: 'sms',
        mobile: '+393471234567',
        idSMS: 4,
        idInvio: 40,
        idList: 1,
        providerMessageId: 'p-123',
      },
    ]);
  });
  afterEach(() => h.close());

  it('records a DLR as sms_status once, however often the provider retries it', async () => {
    const send = () =>
      fetch(`${h.base}/hooks/sms/smpp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify([
          { messageId: 'p-123', stat: 'DELIVRD', err: '000', doneAt: '2026-03-01T10:05:00Z' },
          { messageId: 'p-unknown', stat: 'DELIVRD' },
        ]),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 2, recorded: 1, duplicates: 0, unmatched: 1 });
    expect(await (await send()).json()).toEqual({ received: 2, recorded: 0, duplicates: 1, unmatched: 1 });
    const sent = (await eventsOf(h, carol, 'sent'))[0]!;
    const numbers = await h.store.db
      .selectFrom('messages as m')
      .innerJoin('sendings as sd', 'sd.message_id', 'm.id')
      .select(['m.id', 'm.message_number', 'm.channel', 'sd.id as sending_id', 'sd.sending_number'])
      .where('sd.id', '=', sent.sending_id)
      .executeTakeFirstOrThrow();
    expect(numbers).toEqual({
      id: sent.message_id,
      message_number: 4,
      channel: 'sms',
      sending_id: sent.sending_id,
      sending_number: 40,
    });
    const st = await eventsOf(h, carol, 'sms_status');
    expect(st).toHaveLength(1);
    expect(st[0]).toMatchObject({
      channel: 'sms',
      detail: 'DELIVERED',
      code: '000',
      // The sent event's message and sending (created by ingestion for idSMS 4 / idInvio 40): internal ids.
      message_id: sent.message_id,
      sending_id: sent.sending_id,
      list_id: 1,
      provider_message_id: 'p-123',
      occurred_at: '2026-03-01T10:05:00.000Z',
    });
  });

  it('takes a GET report with an account token in the query, and refuses a report without a token', async () => {
    expect((await fetch(`${h.base}/hooks/sms/http?id=p-123&status=UNDELIV`)).status).toBe(401);
    const other = await createApiToken(h.store.db, { accountId: 'zzz-other', name: 'x' }).catch(
      () => undefined,
    );
    expect(other).toBeUndefined(); // no such account: FK refuses the token
    const acme = await createApiToken(h.store.db, { accountId: 'acme', name: 'dlr' });
    const res = await fetch(
      `${h.base}/hooks/sms/http?id=p-123&status=UNDELIV&err=FAILED_AT_004&token=${acme}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ recorded: 1 });
    expect((await eventsOf(h, carol, 'sms_status'))[0]).toMatchObject({
      detail: 'UNDELIV',
      code: 'FAILED_AT_004',
    });
  });
});
