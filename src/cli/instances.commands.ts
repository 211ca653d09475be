/**
 * instances apply | list | show | enable | disable, and `import FILE --instance ID`. An instances file may mix
 * import and export instances (`kind: export`); each capability validates its own, and nothing is stored
 * unless every instance of the file is valid.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { NotFoundError, UsageError, ValidationError } from '../errors.js';
import {
  findInstance,
  listInstances,
  setInstanceEnabled,
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
  const unknown = others.filter((d) => (d as { kind?: unknown }).kind !== 'export');
  if (unknown.length)
    throw new ValidationError(
      `unknown instance kind(s): ${unknown.map((d) => JSON.stringify((d as { kind?: unknown }).kind)).join(', ')}; use import or export`,
      { code: 'DS_IMPORT_INSTANCE_INVALID' },
    );
  const a = imports.length
    ? await (await importsModule()).applyInstances(store, imports)
    : { created: [], updated: [] };
  const b = others.length
    ? await (await exportsModule()).applyExportInstances(store, others)
    : { created: [], updated: [] };
  return { created: [...a.created, ...b.created], updated: [...a.updated, ...b.updated] };
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
