/**
 * Job counters of reference §2.13, kept in the job record (`jobs.counters_json`) and the result file.
 * Every data row counts once in `processed`, then once in `valid` or `rejected`; `malformed` is the subset of
 * rejected rows that could not be read as a row of the header ("Rows do not match"). A valid row counts once in
 * `created`, `updated` or `unchanged`; `duplicated` counts rows whose key appeared earlier in the file.
 */
export interface ChannelCounters {
  /** Rows with a valid key of this channel that were accepted. */
  valid: number;
  /** Rows rejected because this channel's key has a bad syntax. */
  invalidSyntax: number;
  /** Rows carrying this channel's key rejected for a mapping reason (unknown list or group, key conflict). */
  invalidMapping: number;
}

export interface ImportCounters {
  processed: number;
  valid: number;
  rejected: number;
  malformed: number;
  duplicated: number;
  email: ChannelCounters;
  sms: ChannelCounters;
  created: number;
  updated: number;
  unchanged: number;
  subscribed: number;
  unsubscribed: number;
  pending: number;
  /** Confirmation requests owed to pending recipients (sent by email/ once it exists). */
  confirmationsRequested: number;
  groupsAdded: number;
  groupsRemoved: number;
  /** Recipients handled by the full-import missing rule (unsubscribed or removed from the group). */
  missingHandled: number;
}

export function emptyCounters(): ImportCounters {
  return {
    processed: 0,
    valid: 0,
    rejected: 0,
    malformed: 0,
    duplicated: 0,
    email: { valid: 0, invalidSyntax: 0, invalidMapping: 0 },
    sms: { valid: 0, invalidSyntax: 0, invalidMapping: 0 },
    created: 0,
    updated: 0,
    unchanged: 0,
    subscribed: 0,
    unsubscribed: 0,
    pending: 0,
    confirmationsRequested: 0,
    groupsAdded: 0,
    groupsRemoved: 0,
    missingHandled: 0,
  };
}

/** A rejected row as reported in the result file and the rejected CSV. */
export interface RowRejection {
  line: number;
  code: string;
  reason: string;
}

/** Add `delta` into `target` (batch counters merged when the batch is applied). */
export function addCounters(target: ImportCounters, delta: ImportCounters): void {
  for (const k of Object.keys(delta) as (keyof ImportCounters)[]) {
    const v = delta[k];
    if (typeof v === 'number') (target[k] as number) += v;
    else {
      const t = target[k] as ChannelCounters;
      t.valid += v.valid;
      t.invalidSyntax += v.invalidSyntax;
      t.invalidMapping += v.invalidMapping;
    }
  }
}
