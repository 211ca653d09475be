/**
 * Transactional FTPZIP sends (reference §5.3, `SendType=transactional`): one message per row of Recipients.csv,
 * sent at once, personalised with the row's values — field-id columns and any extra columns by header name —
 * without importing them.
 *
 * What is stored (docs/ftpzip.md "Transactional sends"): events need a recipient, and the reference says the
 * addresses are subscribed, so each distinct address is matched to its recipient or a new one is created with
 * the address only, and subscribed to `ListId` on the email channel if it has no subscription there yet.
 * No field value of the file is written; an existing subscription is left as it is, and an address that is
 * unsubscribed (opted out, bounced, complained) is not mailed (`DS_EMAIL_UNSUBSCRIBED`, counted as skipped).
 * The sending names its recipients explicitly (`sending_recipients`), so it can never reach the rest of the list.
 *
 * `KeepDuplicates=false` (default): a later row with the same address is dropped (counted as a duplicate);
 * `true`: every row gets its own message. No attachments and no `ScheduleDateTime`
 * (DS_FTPZIP_TRANSACTIONAL_REFUSED). `Transactional/Username`, `Password` and `AggregationCode` are accepted
 * and not used: datasync sends through its configured relay.
 */
import type { Delivery } from '../email/index.js';
import { recipientValues } from '../email/index.js';
import { createSending, listFields, normalizeEmail, upsertRecipient, type Store } from '../store/index.js';
import { parseRecipientsCsv, requireEntry } from './ftpzip-content.js';
import type { FtpZipSettings } from './settings-xml.js';
import { FtpZipError, type ZipFileEntry } from './zip-reader.js';

/** Refuse what a transactional send cannot have, before anything is written. */
export function checkTransactional(s: FtpZipSettings, files: ZipFileEntry[]): void {
  if (s.scheduleDateTime)
    throw new FtpZipError(
      'DS_FTPZIP_TRANSACTIONAL_REFUSED',
      'transactional sends are immediate: leave ScheduleDateTime out (or empty) when SendType is transactional',
    );
  if (s.attachments || files.some((f) => /^attachments\//i.test(f.name)))
    throw new FtpZipError(
      'DS_FTPZIP_TRANSACTIONAL_REFUSED',
      'transactional sends carry no attachments: set Attachments to false and remove the Attachments folder',
    );
}

export interface TransactionalPlan {
  sendingId: number;
  sendingNumber: number;
  deliveries: Delivery[];
  rows: number;
  duplicates: number;
  skipped: number;
  rejected: Array<{ line: number; code: string; reason: string }>;
}

/** Read Recipients.csv, match or create the recipients (address only), create the sending. */
export async function prepareTransactional(
  store: Store,
  accountId: string,
  s: FtpZipSettings,
  files: ZipFileEntry[],
  messageNumber: number,
  now: Date,
): Promise<TransactionalPlan> {
  const db = store.db;
  const csv = parseRecipientsCsv(
    requireEntry(files, 'Recipients.csv', `mode ${s.action}`).content,
    s.separator!,
    { extraColumns: true },
  );
  const plan: TransactionalPlan = {
    sendingId: 0,
    sendingNumber: 0,
    deliveries: [],
    rows: csv.rows.length,
    duplicates: 0,
    skipped: 0,
    rejected: [],
  };
  const seen = new Set<string>();
  const rows: Array<{ email: string; row: (typeof csv.rows)[number] }> = [];
  for (const row of csv.rows) {
    const email = normalizeEmail(row.email);
    if (!email) {
      plan.rejected.push({
        line: row.line,
        code: 'DS_EMAIL_INVALID',
        reason: `line ${row.line}: "${row.email.slice(0, 80)}" is not a valid email address`,
      });
      continue;
    }
    if (seen.has(email) && !s.transactional.keepDuplicates) {
      plan.duplicates++;
      continue;
    }
    seen.add(email);
    rows.push({ email, row });
  }

  // Address only: no `fields`, so nothing of the row is stored; existing subscriptions stay as they are.
  const ids = new Map<string, number>();
  await db.transaction().execute(async (trx) => {
    for (const email of seen) {
      const r = await upsertRecipient(trx, { accountId, email, listId: s.listId, channels: ['email'] }, now);
      ids.set(email, r.recipient.id);
    }
  });
  const subscribed = new Set<number>();
  const idList = [...ids.values()];
  for (let i = 0; i < idList.length; i += 500) {
    const subs = await db
      .selectFrom('subscriptions')
      .select('recipient_id')
      .where('account_id', '=', accountId)
      .where('list_id', '=', s.listId)
      .where('channel', '=', 'email')
      .where('status', '=', 'subscribed')
      .where('recipient_id', 'in', idList.slice(i, i + 500))
      .execute();
    for (const r of subs) subscribed.add(r.recipient_id);
  }

  const fieldNames = new Map((await listFields(db, accountId)).map((f) => [f.fieldId, f.name]));
  for (const { email, row } of rows) {
    const recipientId = ids.get(email)!;
    if (!subscribed.has(recipientId)) {
      plan.skipped++;
      plan.rejected.push({
        line: row.line,
        code: 'DS_EMAIL_UNSUBSCRIBED',
        reason: `line ${row.line}: ${email} is not subscribed to list ${s.listId} (it unsubscribed or bounced); not mailed`,
      });
      continue;
    }
    plan.deliveries.push({
      recipientId,
      email,
      values: recipientValues({ email, mobile: null, fields: row.fields }, fieldNames, row.extra),
    });
  }
  if (plan.deliveries.length === 0)
    throw new FtpZipError(
      'DS_FTPZIP_RECIPIENTS_INVALID',
      'Recipients.csv has no row that can be mailed (no valid, subscribed address)',
    );
  const sending = await createSending(
    db,
    {
      accountId,
      channel: 'email',
      messageNumber,
      recipientIds: [...new Set(plan.deliveries.map((d) => d.recipientId))],
    },
    now,
  );
  plan.sendingId = sending.id;
  plan.sendingNumber = sending.number;
  plan.rejected.sort((a, b) => a.line - b.line);
  return plan;
}
