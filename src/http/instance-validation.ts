/**
 * Validation of one instance definition for its kind, without storing anything: what the API's
 * `POST …/instances/{id}/validate` and `PUT …/instances/{id}` run, and `datasync instances validate FILE.yaml`
 * runs on every document of a file. Validation belongs to each capability: imports' `parseImportInstance`,
 * exports' `parseExportInstance` (and its lists must exist); csv2sms and ftpzip instances have no schema of
 * their own yet, so only their `schedule` block and `enabled` flag are checked.
 */
import { z } from 'zod';
import { DatasyncError } from '../errors.js';
import { parseExportInstance } from '../exports/index.js';
import { parseImportInstance } from '../imports/index.js';
import { scheduleSchema } from '../jobs/index.js';
import { getList, INSTANCE_KINDS, type Db, type InstanceKind } from '../store/index.js';

/** The definition as in `instances apply` YAML; `id` and `accountId` come from elsewhere (path, document). */
export const instanceDefinitionSchema = z.looseObject({ kind: z.enum(INSTANCE_KINDS) });
export type InstanceDefinitionInput = z.output<typeof instanceDefinitionSchema>;

export interface ValidatedInstance {
  kind: InstanceKind;
  enabled: boolean;
  /** The resolved definition (defaults filled in by the capability's parser). */
  definition: unknown;
}

/** Validates a definition for its kind without storing it; throws the capability's DS_* error. */
export async function validateInstanceDefinition(
  db: Db,
  accountId: string,
  id: string,
  body: InstanceDefinitionInput,
): Promise<ValidatedInstance> {
  const doc = { ...body, id, accountId };
  switch (body.kind) {
    case 'import': {
      const d = parseImportInstance(doc);
      return { kind: body.kind, enabled: d.enabled, definition: d as unknown };
    }
    case 'export': {
      const d = parseExportInstance(doc);
      for (const l of d.lists) await getList(db, accountId, l);
      return { kind: body.kind, enabled: d.enabled, definition: d as unknown };
    }
    default: {
      const schedule = (body as { schedule?: unknown }).schedule;
      if (schedule !== undefined) {
        const s = scheduleSchema.safeParse(schedule);
        if (!s.success)
          throw new DatasyncError(
            'DS_INSTANCE_INVALID',
            `${body.kind} instance is not valid: schedule: ${s.error.issues.map((i) => i.message).join('; ')}`,
          );
      }
      const enabled = (body as { enabled?: unknown }).enabled;
      if (enabled !== undefined && typeof enabled !== 'boolean')
        throw new DatasyncError('DS_INSTANCE_INVALID', 'enabled must be true or false');
      return { kind: body.kind, enabled: enabled !== false, definition: doc as unknown };
    }
  }
}
