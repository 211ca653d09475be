/**
 * One CSV record → one validated import row, or a rejection with a code and a reason (CONVENTIONS #8: a bad row
 * never stops the job). Pure and synchronous: it runs for every row of million-row files, so it works on the
 * column plan's indexes and avoids per-row allocations beyond the row itself.
 */
import type { ErrorCode } from '../errors.js';
import { FIELD_VALUE_MAX_BYTES, normalizeEmail, normalizeMobile } from '../store/index.js';
import type { SubscriptionStatus } from '../store/index.js';
import type { ColumnPlan } from './column-mapping.js';
import type { ImportInstance } from './import-instance.js';

export interface ListInfo {
  listId: number;
  mobilePrefix: string | null;
}
export interface GroupInfo {
  id: number;
  listId: number;
  name: string;
}

/** What the validator needs to know about the account; loaded once per job. */
export interface ValidationContext {
  instance: ImportInstance;
  plan: ColumnPlan;
  lists: ReadonlyMap<number, ListInfo>;
  groupsById: ReadonlyMap<number, GroupInfo>;
  /** `<listId>:<lower-cased trimmed name>` → group. */
  groupsByName: ReadonlyMap<string, GroupInfo>;
  defaultCountry: string;
  /** The instance's fixed group, resolved (by id or name). */
  fixedGroup: GroupInfo | null;
}

export interface ImportRow {
  line: number;
  /** The record as read, for the rejected file when the row is rejected later (key conflict). */
  raw: string[];
  email: string | null;
  mobile: string | null;
  /** Values aligned with `plan.fields`; null = empty cell. */
  values: (string | null)[];
  listId: number;
  groupId: number | null;
  /** Status asked by the row or the mode; null = the default rule. */
  status: SubscriptionStatus | null;
}

export interface RowProblem {
  code: ErrorCode;
  reason: string;
  /** Counted as "malformed" (the row does not match the header). */
  malformed?: boolean;
  /** Channel counter to charge. */
  channel?: 'email' | 'sms';
  kind?: 'syntax' | 'mapping';
  /** Keys that could still be read: a full import must not treat this recipient as missing. */
  email?: string | null;
  mobile?: string | null;
}

export type RowResult = { ok: true; row: ImportRow } | { ok: false; problem: RowProblem };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const DATE_TOKENS = /YYYY|MM|DD/g;

/** Compile a `YYYY-MM-DD`-style format to a matcher returning ISO `YYYY-MM-DD`, or null when not a real date. */
export function compileDateFormat(format: string): (v: string) => string | null {
  const order: string[] = [];
  const re = new RegExp(
    '^' +
      format.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(DATE_TOKENS, (t) => {
        order.push(t);
        return t === 'YYYY' ? '([0-9]{4})' : '([0-9]{1,2})';
      }) +
      '$',
  );
  return (v) => {
    const m = re.exec(v);
    if (!m) return null;
    const part = (t: string) => Number(m[order.indexOf(t) + 1]);
    const y = part('YYYY');
    const mo = part('MM');
    const d = part('DD');
    const dt = new Date(Date.UTC(y, mo - 1, d));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
    return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };
}

/** A rejection for a mapping reason (list, group), charged to the channel of the key the row carries. */
function mappingProblem(
  email: string | null,
  mobile: string | null,
  code: ErrorCode,
  reason: string,
): RowResult {
  return {
    ok: false,
    problem: {
      code,
      reason,
      kind: 'mapping',
      channel: email ? 'email' : mobile ? 'sms' : undefined,
      email,
      mobile,
    },
  };
}

function short(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}

/** Build the per-row validator of a job. */
export function createRowValidator(ctx: ValidationContext): (fields: string[], line: number) => RowResult {
  const { instance, plan } = ctx;
  const { cols } = plan;
  const wantsEmail = instance.channels.includes('email');
  const wantsSms = instance.channels.includes('sms');
  const sub = instance.subscription;
  const subscribedValues = new Set(sub.subscribedValues.map((v) => v.trim().toLowerCase()));
  const unsubscribedValues = new Set(sub.unsubscribedValues.map((v) => v.trim().toLowerCase()));
  const pendingValues = new Set(sub.pendingValues.map((v) => v.trim().toLowerCase()));
  const modeStatus: SubscriptionStatus | null =
    sub.mode === 'forceSubscribed'
      ? 'subscribed'
      : sub.mode === 'forceUnsubscribed'
        ? 'unsubscribed'
        : sub.mode === 'optIn'
          ? 'pending'
          : null;
  const dateParser = instance.file.dateFormat ? compileDateFormat(instance.file.dateFormat) : null;
  const dateFields = new Set(instance.file.dateFields);
  const fixedList = instance.destination.listId;
  const cell = (fields: string[], col: number | undefined): string =>
    col === undefined ? '' : (fields[col] ?? '').trim();

  return (fields, line) => {
    if (plan.columnCount !== null ? fields.length !== plan.columnCount : fields.length <= plan.maxCol)
      return {
        ok: false,
        problem: {
          code: 'DS_IMPORT_ROW_COLUMNS',
          reason: `the row has ${fields.length} columns, the header ${plan.columnCount ?? `at least ${plan.maxCol + 1}`}`,
          malformed: true,
        },
      };
    for (const f of fields)
      if (CONTROL.test(f))
        return {
          ok: false,
          problem: {
            code: 'DS_IMPORT_VALUE_INVALID',
            reason: 'a value contains control characters (NUL, ...)',
            malformed: true,
          },
        };

    // Keys first (without the list's prefix) so that a rejected row still protects its recipient in full mode.
    const emailRaw = wantsEmail ? cell(fields, cols.email) : '';
    const mobileRaw = wantsSms ? cell(fields, cols.mobileFull ?? cols.mobileNumber) : '';
    const prefixRaw = wantsSms && cols.mobileFull === undefined ? cell(fields, cols.mobilePrefix) : '';
    const email = emailRaw ? normalizeEmail(emailRaw) : null;

    const listCell = cell(fields, cols.listId);
    let listId: number | undefined = fixedList;
    if (listCell !== '') listId = /^[0-9]{1,9}$/.test(listCell) ? Number(listCell) : -1;
    const list = listId !== undefined ? ctx.lists.get(listId) : undefined;
    const mobile = mobileRaw
      ? normalizeMobile({
          number: mobileRaw,
          prefix: prefixRaw || null,
          defaultPrefix: list?.mobilePrefix ?? null,
          defaultCountry: ctx.defaultCountry,
        })
      : null;
    const keys = { email, mobile };
    if (emailRaw && !email)
      return {
        ok: false,
        problem: {
          code: 'DS_EMAIL_INVALID',
          reason: `"${short(emailRaw)}" is not a valid email address`,
          channel: 'email',
          kind: 'syntax',
          ...keys,
        },
      };
    if (mobileRaw && !mobile)
      return {
        ok: false,
        problem: {
          code: 'DS_MOBILE_INVALID',
          reason: `"${short(prefixRaw + mobileRaw)}" is not a valid mobile number`,
          channel: 'sms',
          kind: 'syntax',
          ...keys,
        },
      };
    if (!email && !mobile)
      return {
        ok: false,
        problem: {
          code: 'DS_RECIPIENT_KEY_MISSING',
          reason: `the row has no ${wantsEmail && wantsSms ? 'email nor mobile' : wantsEmail ? 'email' : 'mobile'}`,
        },
      };
    if (!list)
      return mappingProblem(
        email,
        mobile,
        'DS_LIST_UNKNOWN',
        listCell !== '' ? `list "${short(listCell)}" does not exist` : 'the row names no list',
      );

    let groupId: number | null = null;
    const groupCell = cell(fields, cols.groupId);
    const groupNameCell = cell(fields, cols.externalGroupName);
    if (groupCell !== '') {
      const g = /^[0-9]{1,9}$/.test(groupCell) ? ctx.groupsById.get(Number(groupCell)) : undefined;
      if (!g || g.listId !== list.listId)
        return mappingProblem(
          email,
          mobile,
          'DS_GROUP_UNKNOWN',
          `group "${short(groupCell)}" does not exist in list ${list.listId}`,
        );
      groupId = g.id;
    } else if (groupNameCell !== '') {
      const g = ctx.groupsByName.get(`${list.listId}:${groupNameCell.toLowerCase()}`);
      if (!g)
        return mappingProblem(
          email,
          mobile,
          'DS_GROUP_UNKNOWN',
          `group "${short(groupNameCell)}" does not exist in list ${list.listId}`,
        );
      groupId = g.id;
    } else if (ctx.fixedGroup && ctx.fixedGroup.listId === list.listId) groupId = ctx.fixedGroup.id;

    const values: (string | null)[] = new Array(plan.fields.length);
    for (let i = 0; i < plan.fields.length; i++) {
      const { col, fieldId } = plan.fields[i]!;
      let v = (fields[col] ?? '').trim();
      if (v !== '' && dateParser && dateFields.has(fieldId)) {
        const iso = dateParser(v);
        if (!iso)
          return {
            ok: false,
            problem: {
              code: 'DS_IMPORT_VALUE_INVALID',
              reason: `field ${fieldId}: "${short(v)}" is not a date in ${instance.file.dateFormat}`,
              ...keys,
            },
          };
        v = iso;
      }
      // Cheap check first: 200 characters of at most 1 byte each cannot exceed 200 bytes.
      if (v.length > FIELD_VALUE_MAX_BYTES / 4 && Buffer.byteLength(v, 'utf8') > FIELD_VALUE_MAX_BYTES)
        return {
          ok: false,
          problem: {
            code: 'DS_FIELD_TOO_LONG',
            reason: `field ${fieldId} is longer than ${FIELD_VALUE_MAX_BYTES} bytes`,
            ...keys,
          },
        };
      values[i] = v === '' ? null : v;
    }

    let status = modeStatus;
    if (sub.mode === 'perRow') {
      const s = cell(fields, cols.subscriptionStatus).toLowerCase();
      if (s === '') status = null;
      else if (subscribedValues.has(s)) status = 'subscribed';
      else if (unsubscribedValues.has(s)) status = 'unsubscribed';
      else if (pendingValues.has(s)) status = 'pending';
      else
        return {
          ok: false,
          problem: {
            code: 'DS_IMPORT_VALUE_INVALID',
            reason: `subscription status "${short(s)}" is not one of the configured values`,
            ...keys,
          },
        };
    }
    return {
      ok: true,
      row: { line, raw: fields, email, mobile, values, listId: list.listId, groupId, status },
    };
  };
}
