/**
 * `Settings.xml` (reference §5.5): refused outright when it declares a DOCTYPE or an ENTITY (no XXE, no
 * billion laughs — checked on the raw text before any parser sees it), checked for well-formedness, parsed
 * with fast-xml-parser (`parseTagValue: false`: `<ListId>007</ListId>` stays text and is converted here), then
 * validated by the documented zod schema below (docs/ftpzip.md "Settings.xml").
 *
 * Errors use the reference's messages: a required element absent or empty → `Missing Node in Xml File.`
 * (DS_FTPZIP_XML_MISSING_NODE); not well-formed or a wrong value → `XML file does not match its schema.
 * Validation failed` (DS_FTPZIP_XML_INVALID); both name the element concerned after the documented text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { FtpZipError } from './zip-reader.js';

export const MISSING_NODE_MESSAGE = 'Missing Node in Xml File.';
export const SCHEMA_MESSAGE = 'XML file does not match its schema. Validation failed';

const text = z.string().trim();
const optText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : null));
const bool = (dflt: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .refine((v) => v === undefined || v === '' || v === 'true' || v === 'false', 'must be true or false')
    .transform((v) => (v === 'true' ? true : v === 'false' ? false : dflt));
const optInt = z
  .string()
  .trim()
  .optional()
  .refine((v) => !v || /^[0-9]{1,9}$/.test(v), 'must be a whole number')
  .transform((v) => (v ? Number(v) : null));
const optEmail = optText.refine(
  (v) => v === null || z.email().safeParse(v).success,
  'must be an email address',
);

/** An empty element (`<X></X>` or `<X/>`) parses as '' — read it as an element with no children. */
const emptyToObject = (v: unknown) => (v === undefined || v === '' ? {} : v);

const advancedSchema = z.object({
  Separator: z.string().optional(),
  Attachments: bool(false),
  DynamicFields: bool(true),
  EmbeddedImages: bool(false),
  LinkTracking: bool(true),
  HttpLinkTracking: bool(true),
  HttpsLinkTracking: bool(true),
  MailToTracking: bool(false),
  FtpTracking: bool(false),
  NewsTracking: bool(false),
  QueryStringAdditionalParams: optText,
  ContentOverride: z.preprocess(emptyToObject, z.object({ MessageId: optInt, CloneMessage: bool(false) })),
  SendType: optText.refine(
    (v) => v === null || ['massive', 'transactional'].includes(v.toLowerCase()),
    'must be massive or transactional',
  ),
  Transactional: z
    .preprocess(
      emptyToObject,
      z.object({
        Username: optText,
        Password: optText,
        AggregationCode: optText,
        KeepDuplicates: bool(false),
      }),
    )
    .optional(),
});

/** The published schema of Settings.xml: element names as in the reference; every leaf is text in XML. */
export const settingsXmlSchema = z.object({
  FtpZip: z.object({
    Header: z.object({
      ActionType: text.toLowerCase().pipe(z.enum(['full', 'send', 'save'])),
      CampaignCode: optText,
      FormatVersion: optText,
      NotifyEmail: optEmail,
    }),
    Content: z.object({
      ListId: text.regex(/^[0-9]{1,9}$/, 'must be a whole number').transform(Number),
      ListGUID: optText,
      SenderName: optText,
      SenderEmail: optEmail,
      ReplyToEmail: optEmail,
      EmailSubject: optText,
      ScheduleDateTime: optText.refine(
        (v) => v === null || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(v),
        'must be yyyy-MM-ddTHH:mm:ss.fff',
      ),
      ScheduleTimeZone: optInt,
      Notes: optText,
    }),
    AdvancedSettings: z.preprocess(emptyToObject, advancedSchema),
  }),
});

export type SettingsXml = z.output<typeof settingsXmlSchema>;

/** What the job uses, in our vocabulary. */
export interface FtpZipSettings {
  action: 'full' | 'send' | 'save';
  sendType: 'massive' | 'transactional';
  campaignCode: string | null;
  notifyEmail: string | null;
  listId: number;
  senderName: string | null;
  senderEmail: string | null;
  replyTo: string | null;
  subject: string | null;
  /** Local date-time in the schedule's zone, or null for "now". */
  scheduleDateTime: string | null;
  /** MailUp time-zone id; null = the default (38). */
  scheduleTimeZone: number | null;
  notes: string | null;
  /** Column separator of Recipients.csv (any one character). */
  separator: string | null;
  attachments: boolean;
  dynamicFields: boolean;
  embeddedImages: boolean;
  tracking: { enabled: boolean; http: boolean; https: boolean; queryParams: string };
  messageId: number | null;
  cloneMessage: boolean;
  /**
   * `AdvancedSettings/Transactional`. `Username` / `Password` (SMTP+ credentials of the platform) are not kept:
   * datasync sends through its configured relay (docs/ftpzip.md "Transactional sends").
   */
  transactional: { aggregationCode: string | null; keepDuplicates: boolean };
}

const fail = (
  code: 'DS_FTPZIP_XML_REFUSED' | 'DS_FTPZIP_XML_INVALID' | 'DS_FTPZIP_XML_MISSING_NODE',
  m: string,
) => new FtpZipError(code, m);

/** Parse and validate Settings.xml (bytes as in the archive, UTF-8). */
export function parseSettingsXml(content: Buffer): FtpZipSettings {
  let xml = content.toString('utf8');
  if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
  // Before any parser: a DTD is the door to external entities (XXE) and entity expansion (billion laughs).
  if (/<!\s*(DOCTYPE|ENTITY)/i.test(xml))
    throw fail(
      'DS_FTPZIP_XML_REFUSED',
      `${SCHEMA_MESSAGE}: DOCTYPE and ENTITY declarations are not accepted`,
    );
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw fail('DS_FTPZIP_XML_INVALID', `${SCHEMA_MESSAGE}: line ${valid.err.line}: ${valid.err.msg}`);
  const parsed: unknown = new XMLParser({
    ignoreAttributes: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    // Only the five predefined XML entities remain possible once DTDs are refused.
    processEntities: true,
    htmlEntities: false,
    trimValues: true,
    isArray: () => false,
  }).parse(xml);
  const missing = missingNode(parsed);
  if (missing) throw fail('DS_FTPZIP_XML_MISSING_NODE', `${MISSING_NODE_MESSAGE} (${missing})`);
  const r = settingsXmlSchema.safeParse(parsed);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const where = i.path.join('/');
    if (i.code === 'invalid_type' && /undefined/.test(i.message))
      throw fail('DS_FTPZIP_XML_MISSING_NODE', `${MISSING_NODE_MESSAGE} (${where})`);
    throw fail('DS_FTPZIP_XML_INVALID', `${SCHEMA_MESSAGE}: ${where}: ${i.message}`);
  }
  const x = r.data.FtpZip;
  const a = x.AdvancedSettings;
  const s: FtpZipSettings = {
    action: x.Header.ActionType,
    sendType: a.SendType?.toLowerCase() === 'transactional' ? 'transactional' : 'massive',
    campaignCode: x.Header.CampaignCode,
    notifyEmail: x.Header.NotifyEmail,
    listId: x.Content.ListId,
    senderName: x.Content.SenderName,
    senderEmail: x.Content.SenderEmail,
    replyTo: x.Content.ReplyToEmail,
    subject: x.Content.EmailSubject,
    scheduleDateTime: x.Content.ScheduleDateTime,
    scheduleTimeZone: x.Content.ScheduleTimeZone,
    notes: x.Content.Notes,
    separator: a.Separator === undefined || a.Separator === '' ? null : a.Separator,
    attachments: a.Attachments,
    dynamicFields: a.DynamicFields,
    embeddedImages: a.EmbeddedImages,
    tracking: {
      enabled: a.LinkTracking,
      http: a.HttpLinkTracking,
      https: a.HttpsLinkTracking,
      queryParams: a.QueryStringAdditionalParams ?? '',
    },
    messageId: a.ContentOverride.MessageId,
    cloneMessage: a.ContentOverride.CloneMessage,
    transactional: {
      aggregationCode: a.Transactional?.AggregationCode ?? null,
      keepDuplicates: a.Transactional?.KeepDuplicates ?? false,
    },
  };
  // Elements a mode needs (reference §5.5 "Req."): an empty one counts as missing.
  if ((s.action === 'full' || s.action === 'save') && !s.subject)
    throw fail('DS_FTPZIP_XML_MISSING_NODE', `${MISSING_NODE_MESSAGE} (FtpZip/Content/EmailSubject)`);
  if (s.action === 'send' && s.messageId === null)
    throw fail(
      'DS_FTPZIP_XML_MISSING_NODE',
      `${MISSING_NODE_MESSAGE} (FtpZip/AdvancedSettings/ContentOverride/MessageId)`,
    );
  if (s.action !== 'save' && s.separator === null)
    throw fail('DS_FTPZIP_XML_MISSING_NODE', `${MISSING_NODE_MESSAGE} (FtpZip/AdvancedSettings/Separator)`);
  if (s.separator !== null && [...s.separator].length !== 1)
    throw fail(
      'DS_FTPZIP_XML_INVALID',
      `${SCHEMA_MESSAGE}: FtpZip/AdvancedSettings/Separator: must be one character`,
    );
  return s;
}

/** The first required container or element that is absent (or empty), as a path. */
function missingNode(doc: unknown): string | null {
  const get = (o: unknown, k: string): unknown =>
    o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  const root = get(doc, 'FtpZip');
  if (root === undefined || root === '') return 'FtpZip';
  for (const k of ['Header', 'Content'])
    if (get(root, k) === undefined || get(root, k) === '') return `FtpZip/${k}`;
  if (!get(get(root, 'Header'), 'ActionType')) return 'FtpZip/Header/ActionType';
  if (!get(get(root, 'Content'), 'ListId')) return 'FtpZip/Content/ListId';
  return null;
}
