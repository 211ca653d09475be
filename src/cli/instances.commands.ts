/**
 * instances apply | validate | list | show | enable | disable, and `import FILE --instance ID`. An instances file may mix
 * import and export instances (`kind: export`); each capability validates its own, and nothing is stored
 * unless every instance of the file is valid.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { DatasyncError, NotFoundError, UsageError, ValidationError } from '../errors.js';
import {
  findAccount,
  findInstance,
  getAccount,
  INSTANCE_KINDS,
  listInstances,
  setInstanceEnabled,
  upsertInstance,
  type InstanceRecord,
  type Store,
} from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const jobsModule = () => import('../jobs/index.js');

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const exportsModule = () => import('../exports/index.js');

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const importsModule = () => import('../imports/index.js');

/** Apply instance documents (YAML text or already-parsed documents from the config file). */
export async function applyInstanceDocuments(
  store: Store,
  input: { yaml: string } | { docs: unknown[] },
): Promise<{ created: string[]; updated: string[] }> {
  const { imports, others } =
    'yaml' in input
      ? (await importsModule()).parseInstancesYaml(input.yaml)
      : (await importsModule()).parseInstancesYaml(JSON.stringify(input.docs));
  const kindOf = (d: unknown) => (d as { kind?: unknown }).kind;
  const exports = others.filter((d) => kindOf(d) === 'export');
  // CSV2SMS and FTPZIP instances carry per-account options only; they are checked and stored as the API does.
  const plain = others.filter((d) => kindOf(d) === 'csv2sms' || kindOf(d) === 'ftpzip');
  const unknown = others.filter((d) => !exports.includes(d) && !plain.includes(d));
  if (unknown.length)
    throw new ValidationError(
      `unknown instance kind(s): ${unknown.map((d) => JSON.stringify(kindOf(d))).join(', ')}; use ${INSTANCE_KINDS.join(', ')}`,
      { code: 'DS_IMPORT_INSTANCE_INVALID' },
    );
  // Every document is validated before any is written: a file applies whole or not at all.
  const checkedPlain = [];
  for (const d of plain) {
    const { id, accountId } = d as { id?: unknown; accountId?: unknown };
    if (typeof id !== 'string' || typeof accountId !== 'string' || !id || !accountId)
      throw new ValidationError(`every ${String(kindOf(d))} instance needs an id and an accountId`, {
        code: 'DS_INSTANCE_INVALID',
      });
    await getAccount(store.db, accountId);
    const existing = await findInstance(store.db, id);
    if (existing && existing.accountId !== accountId)
      throw new DatasyncError('DS_CONFLICT', `instance id "${id}" is taken by another account`);
    const v = await (
      await httpModule()
    ).validateInstanceDefinition(store.db, accountId, id, d as { kind: 'csv2sms' | 'ftpzip' });
    checkedPlain.push({ id, accountId, existing: !!existing, ...v });
  }
  const a = imports.length
    ? await (await importsModule()).applyInstances(store, imports)
    : { created: [], updated: [] };
  const b = exports.length
    ? await (await exportsModule()).applyExportInstances(store, exports)
    : { created: [], updated: [] };
  const c = { created: [] as string[], updated: [] as string[] };
  for (const v of checkedPlain) {
    await upsertInstance(store.db, {
      id: v.id,
      accountId: v.accountId,
      kind: v.kind,
      enabled: v.enabled,
      definition: v.definition,
    });
    (v.existing ? c.updated : c.created).push(v.id);
  }
  return {
    created: [...a.created, ...b.created, ...c.created],
    updated: [...a.updated, ...b.updated, ...c.updated],
  };
}

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const httpModule = () => import('../http/index.js');

export interface InstanceProblem {
  /** Position of the document in the file (0-based). */
  index: number;
  id: string | null;
  code: string;
  message: string;
}

/**
 * `datasync instances validate`: every document of an instances file through the API's validation
 * (`validateInstanceDefinition`, as `POST …/instances/{id}/validate`), plus what `PUT` checks first (the
 * account exists; the id is not another account's). Nothing is stored. Every problem is collected.
 */
export async function validateInstanceDocuments(
  store: Store,
  yaml: string,
): Promise<{ valid: { id: string; accountId: string; kind: string }[]; problems: InstanceProblem[] }> {
  let doc: unknown;
  try {
    doc = parseYaml(yaml);
  } catch (e) {
    throw new DatasyncError('DS_INSTANCE_INVALID', `the file is not valid YAML: ${(e as Error).message}`);
  }
  // The shapes `instances apply` reads: a list, `{ instances: [...] }`, or one document.
  const docs: unknown[] = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object' && Array.isArray((doc as { instances?: unknown }).instances)
      ? (doc as { instances: unknown[] }).instances
      : doc && typeof doc === 'object'
        ? [doc]
        : [];
  if (!docs.length) throw new DatasyncError('DS_INSTANCE_INVALID', 'the file holds no instance');
  const http = await httpModule();
  const valid: { id: string; accountId: string; kind: string }[] = [];
  const problems: InstanceProblem[] = [];
  const seen = new Set<string>();
  for (const [index, d] of docs.entries()) {
    const o = (d && typeof d === 'object' ? d : {}) as Record<string, unknown>;
    const id = typeof o.id === 'string' ? o.id : null;
    const problem = (code: string, message: string) => problems.push({ index, id, code, message });
    if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      problem('DS_INSTANCE_INVALID', 'id: 1 to 64 letters, digits, ".", "_" or "-" is required');
      continue;
    }
    if (seen.has(id)) problem('DS_INSTANCE_INVALID', `id "${id}" appears twice in the file`);
    seen.add(id);
    const accountId = typeof o.accountId === 'string' ? o.accountId : '';
    if (!accountId) {
      problem('DS_INSTANCE_INVALID', 'accountId is required');
      continue;
    }
    // Instances files may leave out `kind: import` (as `instances apply` reads them).
    const body = http.instanceDefinitionSchema.safeParse({ kind: 'import', ...o });
    if (!body.success) {
      problem('DS_INSTANCE_INVALID', `kind: one of ${INSTANCE_KINDS.join(', ')}`);
      continue;
    }
    try {
      if (!(await findAccount(store.db, accountId)))
        throw new NotFoundError(`account "${accountId}" does not exist`);
      const existing = await findInstance(store.db, id);
      if (existing && existing.accountId !== accountId)
        throw new DatasyncError('DS_CONFLICT', `instance id "${id}" is taken by another account`);
      const r = await http.validateInstanceDefinition(store.db, accountId, id, body.data);
      valid.push({ id, accountId, kind: r.kind });
    } catch (e) {
      if (!(e instanceof DatasyncError)) throw e;
      problem(e.code, e.message);
    }
  }
  return { valid, problems };
}

/** The next scheduled run of an instance (export, or import from a remote space), or null. */
export async function nextRunOf(i: InstanceRecord, from = new Date()): Promise<string | null> {
  const jobs = await jobsModule();
  const s = jobs.scheduleSchema.safeParse((i.definition as { schedule?: unknown } | null)?.schedule);
  if (!i.enabled || !s.success) return null;
  return jobs.nextRunsOf(s.data, from, 1)[0] ?? null;
}

export function registerInstanceCommands(program: Command, globals: () => GlobalOptions): void {
  const instances = program.command('instances').description('import and export instances');
  instances
    .command('apply <file>')
    .description('create or replace the instances of a YAML file (all or nothing)')
    .option('--json', 'JSON output')
    .action(async (file: string, o: { json?: boolean }) => {
      let yaml: string;
      try {
        yaml = fs.readFileSync(file, 'utf8');
      } catch {
        throw new UsageError(`cannot read ${file}`);
      }
      await withStore(globals(), async (store) => {
        const r = await applyInstanceDocuments(store, { yaml });
        if (o.json) return printJson(r);
        for (const id of r.created) console.log(`created ${id}`);
        for (const id of r.updated) console.log(`updated ${id}`);
      });
    });
  instances
    .command('validate <file>')
    .description(
      "validate the instances of a YAML file without saving them (the API's validate); exit 1 on any problem",
    )
    .option('--json', 'JSON output')
    .action(async (file: string, o: { json?: boolean }) => {
      let yaml: string;
      try {
        yaml = fs.readFileSync(file, 'utf8');
      } catch {
        throw new UsageError(`cannot read ${file}`);
      }
      const r = await withStore(globals(), (store) => validateInstanceDocuments(store, yaml));
      if (o.json) printJson(r);
      else {
        for (const v of r.valid) console.log(`valid ${v.id} (${v.kind}, account ${v.accountId})`);
        for (const p of r.problems)
          console.error(`instances[${p.index}]${p.id ? ` ${p.id}` : ''}: ${p.code} ${p.message}`);
      }
      if (r.problems.length)
        throw new DatasyncError(
          'DS_INSTANCE_INVALID',
          `${r.problems.length} problem(s) in ${file} (validate saves nothing)`,
        );
    });
  instances
    .command('list [account]')
    .description('instances with their next scheduled run')
    .option('--json', 'JSON output')
    .action(async (account: string | undefined, o: { json?: boolean }) =>
      withStore(globals(), async ({ db }) => {
        const rows = [];
        for (const i of await listInstances(db, { accountId: account }))
          rows.push({
            id: i.id,
            accountId: i.accountId,
            kind: i.kind,
            enabled: i.enabled,
            nextRun: await nextRunOf(i),
            updatedAt: i.updatedAt,
          });
        printList(rows, ['id', 'accountId', 'kind', 'enabled', 'nextRun', 'updatedAt'], o.json);
      }),
    );
  instances
    .command('show <id>')
    .description('one instance as stored, with its next run')
    .action(async (id: string) =>
      withStore(globals(), async ({ db }) => {
        const i = await findInstance(db, id);
        if (!i) throw new NotFoundError(`instance "${id}" does not exist`);
        printJson({ ...i, nextRun: await nextRunOf(i) });
      }),
    );
  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    instances
      .command(`${name} <id>`)
      .description(`${name} an instance`)
      .action(async (id: string) =>
        withStore(globals(), async ({ db }) => {
          if (!(await setInstanceEnabled(db, id, enabled)))
            throw new NotFoundError(`instance "${id}" does not exist`);
          console.log(`instance ${id} ${enabled ? 'enabled' : 'disabled'}`);
        }),
      );
  }

  program
    .command('import <file>')
    .description(
      'import a CSV file with an import instance (a progress bar on a terminal, a summary at the end)',
    )
    .requiredOption('--instance <id>', 'import instance')
    .option('--dry-run', 'validate and report every row that would be rejected, change nothing')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, o: { instance: string; dryRun?: boolean; json?: boolean }) => {
      if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
      const tty = process.stderr.isTTY && !o.json;
      const im = await importsModule();
      const status = await withStore(globals(), async (store) => {
        const s = await im.importFile(store, {
          file,
          instanceId: o.instance,
          dryRun: o.dryRun,
          trigger: 'cli',
          onProgress: tty ? (p) => process.stderr.write(`\r${im.renderImportProgress(p)}`) : undefined,
          onRejected:
            o.dryRun && !o.json ? (r) => console.log(`line ${r.line}: ${r.code} ${r.reason}`) : undefined,
        });
        if (tty) process.stderr.write('\n');
        if (o.json) printJson(s);
        else {
          const c = s.counters;
          console.log(
            `${s.dryRun ? 'dry run' : `job ${s.jobId}`}: ${s.status} — ${c.processed} rows, ${c.valid} valid, ${c.rejected} rejected; ` +
              `created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged} (${Math.round(s.rowsPerSecond)} rows/s)`,
          );
          if (s.error) console.log(`error ${s.error.code}: ${s.error.message}`);
          for (const r of s.dryRun ? [] : s.rejected.slice(0, 10))
            console.log(`  line ${r.line}: ${r.code} ${r.reason}`);
          if (s.rejectedFile) console.log(`rejected rows: ${s.rejectedFile}`);
        }
        return s.status;
      });
      if (status === 'failed') process.exitCode = 1;
    });
}
