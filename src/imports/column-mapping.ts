/**
 * From a header row (or none) and the instance's mapping to a column plan: which column feeds which key,
 * field or destination. Both styles of reference §2.7 end in the same plan, so the row validator has one path.
 * Every header problem is a file-level error (DS_IMPORT_HEADER_INVALID and friends): nothing is applied.
 */
import { ImportFileError } from '../errors.js';
import { SPECIAL_FIELD_CODES, type ImportInstance, type MappingTarget } from './import-instance.js';

type KeyTarget =
  | 'email'
  | 'mobilePrefix'
  | 'mobileNumber'
  | 'mobileFull'
  | 'listId'
  | 'groupId'
  | 'externalGroupName'
  | 'subscriptionStatus';

export interface ColumnPlan {
  /** Columns every row must have (the header's count), or null without a header (rows must reach every mapped column). */
  columnCount: number | null;
  /** 0-based column of each key / destination target, when mapped. */
  cols: Partial<Record<KeyTarget, number>>;
  /** Mapped recipient fields: 0-based column and field id, in column order. */
  fields: { col: number; fieldId: number }[];
  /** Highest 0-based column used (rows without header must be at least this long). */
  maxCol: number;
}

/** Header names recognised as destination / status columns in the field-id style (case-insensitive). */
const NAMED_COLUMNS: Record<string, KeyTarget> = {
  idlist: 'listId',
  idgroup: 'groupId',
  externalgroupname: 'externalGroupName',
};

function targetOf(t: MappingTarget): KeyTarget | { fieldId: number } | 'ignore' {
  if (typeof t === 'number') {
    if (t <= 39) return { fieldId: t };
    return Object.entries(SPECIAL_FIELD_CODES).find(([, code]) => code === t)![0] as KeyTarget;
  }
  if (typeof t === 'object') return { fieldId: t.field };
  return t;
}

function statusColumnNames(instance: ImportInstance): string[] {
  return instance.subscription.column
    ? [instance.subscription.column.trim().toLowerCase()]
    : ['optout', 'subscription_status'];
}

function headerError(message: string, details: Record<string, unknown>): ImportFileError {
  return new ImportFileError('DS_IMPORT_HEADER_INVALID', message, { details });
}

/**
 * Build the plan. `definedFields`: the account's defined field ids (an account that defines none accepts 1..39).
 * Throws DS_IMPORT_HEADER_INVALID, DS_IMPORT_NO_KEY_COLUMN or DS_LIST_UNKNOWN.
 */
export function buildColumnPlan(
  instance: ImportInstance,
  header: string[] | null,
  definedFields: ReadonlySet<number>,
): ColumnPlan {
  const cols: ColumnPlan['cols'] = {};
  const fields: ColumnPlan['fields'] = [];
  const problems: string[] = [];
  const assign = (target: KeyTarget | { fieldId: number } | 'ignore', col: number, label: string): void => {
    if (target === 'ignore') return;
    if (typeof target === 'object') {
      if (definedFields.size > 0 && !definedFields.has(target.fieldId))
        problems.push(`${label}: field ${target.fieldId} is not defined for the account`);
      else if (fields.some((f) => f.fieldId === target.fieldId))
        problems.push(`${label}: field ${target.fieldId} is mapped twice`);
      else fields.push({ col, fieldId: target.fieldId });
      return;
    }
    if (cols[target] !== undefined) problems.push(`${label}: ${target} is mapped twice`);
    else cols[target] = col;
  };
  const statusNames = statusColumnNames(instance);
  const headerLower = header?.map((h) => h.trim().toLowerCase()) ?? null;

  if (instance.mapping.style === 'fieldIdHeader') {
    if (!header) throw headerError('the field-id mapping needs a header row', {});
    header.forEach((raw, col) => {
      const h = raw.trim();
      const label = `column ${col + 1} ("${h.slice(0, 40)}")`;
      if (h === '') return; // an empty header cell skips the column (reference §2.7 A)
      if (/^[0-9]+$/.test(h)) {
        const n = Number(h);
        if (n >= 1 && n <= 39) assign({ fieldId: n }, col, label);
        else {
          const special = Object.entries(SPECIAL_FIELD_CODES).find(([, code]) => code === n);
          if (special) assign(special[0] as KeyTarget, col, label);
          else problems.push(`${label}: ${n} is not a field id (1..39, 111, 222, 333, 444)`);
        }
        return;
      }
      const lower = h.toLowerCase();
      if (NAMED_COLUMNS[lower]) assign(NAMED_COLUMNS[lower], col, label);
      else if (statusNames.includes(lower)) assign('subscriptionStatus', col, label);
      else
        problems.push(
          `${label}: not a field id (1..39, 111, 222, 333, 444) nor idList / IdGroup / ExternalGroupName`,
        );
    });
  } else {
    for (const { column, target } of instance.mapping.columns) {
      let col: number;
      if (typeof column === 'number') {
        col = column - 1;
        if (header && col >= header.length) {
          problems.push(`column ${column}: the header has only ${header.length} columns`);
          continue;
        }
      } else {
        const want = column.trim().toLowerCase();
        const hits = headerLower ? headerLower.flatMap((h, i) => (h === want ? [i] : [])) : [];
        if (hits.length === 0) {
          problems.push(`column "${column}": not in the header`);
          continue;
        }
        if (hits.length > 1) {
          problems.push(`column "${column}": the header has it ${hits.length} times`);
          continue;
        }
        col = hits[0]!;
      }
      assign(targetOf(target), col, typeof column === 'number' ? `column ${column}` : `column "${column}"`);
    }
    // The per-row status column may be found by name without an explicit entry.
    if (instance.subscription.mode === 'perRow' && cols.subscriptionStatus === undefined && headerLower) {
      const i = headerLower.findIndex((h) => statusNames.includes(h));
      if (i >= 0) cols.subscriptionStatus = i;
    }
  }
  if (problems.length > 0)
    throw headerError(`the header cannot be mapped: ${problems.join('; ')}`, { problems });

  const wantsEmail = instance.channels.includes('email');
  const wantsSms = instance.channels.includes('sms');
  const hasEmail = cols.email !== undefined;
  const hasMobile = cols.mobileFull !== undefined || cols.mobileNumber !== undefined;
  if (cols.mobilePrefix !== undefined && cols.mobileNumber === undefined)
    throw headerError('a mobile prefix column (222) needs a mobile number column (333)', {});
  if (
    (wantsEmail && !wantsSms && !hasEmail) ||
    (wantsSms && !wantsEmail && !hasMobile) ||
    (!hasEmail && !hasMobile)
  )
    throw new ImportFileError(
      'DS_IMPORT_NO_KEY_COLUMN',
      `the file has no ${wantsEmail && !wantsSms ? 'email' : wantsSms && !wantsEmail ? 'mobile' : 'email or mobile'} column`,
      {
        details: { channels: instance.channels },
      },
    );
  if (cols.listId === undefined && instance.destination.listId === undefined)
    throw new ImportFileError(
      'DS_LIST_UNKNOWN',
      'no destination list: the instance names none and the file has no idList column',
      {},
    );
  if (instance.subscription.mode === 'perRow' && cols.subscriptionStatus === undefined)
    throw headerError(`the subscription status column (${statusNames.join(' or ')}) is missing`, {});
  const used = [...Object.values(cols), ...fields.map((f) => f.col)];
  return { columnCount: header ? header.length : null, cols, fields, maxCol: Math.max(...used) };
}
