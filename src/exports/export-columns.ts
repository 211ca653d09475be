/**
 * The column catalogue of every export kind (reference §3.4): the key an instance names a column by, its default
 * header (the reference's "Header Display Name" where it gives one; docs/exports.md lists our choices for the
 * gaps), and whether it is mandatory. Mandatory columns are always written, whatever `columns` says.
 */
export const EXPORT_KINDS = [
  'unsubscribers',
  'statistics',
  'unsubscribers+statistics',
  'sms-statistics',
  'subscribers',
] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ColumnSpec {
  key: string;
  header: string;
  mandatory: boolean;
  /** Written in the default layout (optional columns such as ip and user agent are not). */
  byDefault: boolean;
}

const col = (key: string, header: string, mandatory = false, byDefault = true): ColumnSpec => ({
  key,
  header,
  mandatory,
  byDefault,
});

const UNSUBSCRIBERS: ColumnSpec[] = [
  col('email', 'email', true),
  col('mobile', 'mobile'),
  col('listId', 'idList'),
  col('optoutDate', 'OptOut_Date'),
  col('subscriptionDate', 'Subscription_Date'),
  col('optoutMessageId', 'optout_nl'),
  col('optoutType', 'optout_type'),
];

const STATISTICS: ColumnSpec[] = [
  col('listId', 'idList', true),
  col('sendingId', 'idInvio'),
  col('messageId', 'idNl'),
  col('email', 'email', true),
  col('subject', 'subject', true),
  col('statusType', 'statusType'),
  col('details', 'details'),
  col('statusChange', 'statusChange', true),
  col('sentDate', 'sentDate'),
  col('ip', 'ipAddress', false, false),
  col('userAgent', 'userAgent', false, false),
];

/** §3.4.5: the statistics layout with the email first, unsubscriptions as `UNS` rows and the optout columns. */
const COMBINED: ColumnSpec[] = [
  col('email', 'email', true),
  col('listId', 'idList', true),
  col('sendingId', 'idInvio'),
  col('messageId', 'idNl'),
  col('subject', 'subject', true),
  col('statusType', 'statusType', true),
  col('details', 'details'),
  col('statusChange', 'statusChange', true),
  col('sentDate', 'sentDate'),
  col('optoutType', 'optout_type'),
  col('mobile', 'mobile', false, false),
  col('subscriptionDate', 'Subscription_Date', false, false),
  col('ip', 'ipAddress', false, false),
  col('userAgent', 'userAgent', false, false),
];

const SMS_STATISTICS: ColumnSpec[] = [
  col('recipient', 'recipient', true),
  col('listId', 'idList', true),
  col('smsId', 'idSMS', true),
  col('sentDate', 'sentdate', true),
  col('responseDate', 'responsedate', true),
  col('status', 'status', true),
  col('statusCode', 'statusCode', false, false),
  col('sendingId', 'idInvio', false, false),
];

const SUBSCRIBERS: ColumnSpec[] = [
  col('email', 'email', true),
  col('mobile', 'mobile'),
  col('listId', 'idList'),
  col('subscriptionDate', 'Subscription_Date'),
  col('groups', 'groups'),
];

export const KIND_COLUMNS: Record<ExportKind, readonly ColumnSpec[]> = {
  unsubscribers: UNSUBSCRIBERS,
  statistics: STATISTICS,
  'unsubscribers+statistics': COMBINED,
  'sms-statistics': SMS_STATISTICS,
  subscribers: SUBSCRIBERS,
};

/** Kinds whose first column is the mandatory email address (reference §3.4.1). */
const EMAIL_FIRST: ReadonlySet<ExportKind> = new Set([
  'unsubscribers',
  'unsubscribers+statistics',
  'subscribers',
]);

/** A recipient field appended to any layout: key `field:<id>`. */
export const FIELD_KEY = /^field:([1-9]|[12][0-9]|3[0-9])$/;

export interface ResolvedColumn {
  key: string;
  header: string;
  /** Recipient field id for `field:<id>` columns. */
  fieldId?: number;
}

/**
 * The final column list of an instance: the chosen (or default) order, mandatory columns added in front when
 * missing (email moved first where the reference wants it first), then the appended recipient fields.
 */
export function resolveColumns(
  kind: ExportKind,
  chosen: readonly string[] | undefined,
  fields: readonly number[],
  headers: Readonly<Record<string, string>>,
  fieldNames: ReadonlyMap<number, string>,
): ResolvedColumn[] {
  const catalogue = KIND_COLUMNS[kind];
  let keys = chosen ? [...chosen] : catalogue.filter((c) => c.byDefault).map((c) => c.key);
  const missing = catalogue.filter((c) => c.mandatory && !keys.includes(c.key)).map((c) => c.key);
  keys = [...missing, ...keys];
  if (EMAIL_FIRST.has(kind)) keys = ['email', ...keys.filter((k) => k !== 'email')];
  for (const f of fields) if (!keys.includes(`field:${f}`)) keys.push(`field:${f}`);
  return keys.map((key) => {
    const m = FIELD_KEY.exec(key);
    if (m) {
      const fieldId = Number(m[1]);
      return { key, fieldId, header: headers[key] ?? fieldNames.get(fieldId) ?? `field${fieldId}` };
    }
    const spec = catalogue.find((c) => c.key === key)!;
    return { key, header: headers[key] ?? spec.header };
  });
}

/** Column keys an instance may name for a kind (for validation messages). */
export function knownColumnKeys(kind: ExportKind): string[] {
  return KIND_COLUMNS[kind].map((c) => c.key);
}
