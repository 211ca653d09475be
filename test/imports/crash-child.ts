/**
 * Child process of the crash test: runs (or resumes) one import job and prints `P <rows>` after every committed
 * batch, so the parent can SIGKILL it at chosen points. Usage: crash-child.ts DATABASE PG_SCHEMA|- JOB_ID REJECTED_CSV [WORK_DIR KEY_SLOTS]
 */
import { runImportJob } from '../../src/imports/index.js';
import { openStore } from '../../src/store/index.js';

const [database, schema, jobId, rejected, workDir, keySlots] = process.argv.slice(2);
const store = await openStore({
  database: database!,
  ...(schema && schema !== '-' ? { pgSchema: schema } : {}),
  migrate: false,
});
const s = await runImportJob(store, jobId!, {
  batchSize: 5000,
  rejectedCsvPath: rejected!,
  // A tiny duplicate-counter memory, so the keys spill to WORK_DIR and resuming rebuilds the spill file.
  ...(workDir ? { workDir, keyMemorySlots: Number(keySlots) } : {}),
  onProgress: (p) => process.stdout.write(`P ${p.rows}\n`),
});
process.stdout.write(`DONE ${s.status}\n`);
await store.close();
