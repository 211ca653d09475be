/**
 * imports/ — CSV files become recipients (reference §2). Map of the folder:
 * - `import-instance.ts`  the instance schema (zod) and `parseInstancesYaml`; `instances.service.ts` stores them;
 * - `file-match.ts`       which instance a dropped file belongs to;
 * - `csv-source.ts`       sha256 + encoding scan, then the streamed records (iconv-lite + csv-parse);
 * - `column-mapping.ts`   header → column plan (field-id header or explicit mapping);
 * - `row-validator.ts`    one record → a normalised row or a rejection with its DS_* code;
 * - `batch-planner.ts`    in-memory create/update/unchanged and subscription/group decisions for a batch;
 * - `batch-apply.ts`      one batch against the store: key lookups, the planner, the plan's writes;
 * - `import-engine.ts`    the passes over the file, batches committed with the checkpoint (invariant 4);
 * - `import-missing.ts`   a full import's missing rule and its guard, page by page with the checkpoint;
 * - `import-job.service.ts` job records around the engine: `importFile`, `runImportJob`;
 * - `import-runner.ts`    in-process runner, one import at a time per account (the jobs queue replaces it);
 * - `hosted-imports.ts`   the "file ready" flow: match, move away, import, result files in done/ or failed/;
 * - `remote-poll.ts`      a scheduled run of a `remote` instance: poll the customer's SFTP, one child job per file.
 * The batched SQL lives in `store/import-batch*.ts` (reads, writes, missing rule).
 */
export { importInstanceSchema, parseImportInstance, parseInstancesYaml } from './import-instance.js';
export type { ImportInstance, ImportInstanceInput, ImportRemote, MappingTarget } from './import-instance.js';
export { applyInstances, listImportInstances, type ApplyInstancesResult } from './instances.service.js';
export { fileNameMatches, globToRegExp, matchInstance } from './file-match.js';
export {
  emptyCounters,
  type ImportCounters,
  type ChannelCounters,
  type RowRejection,
} from './import-counters.js';
export type { ImportProgress } from './import-engine.js';
export {
  importFile,
  runImportJob,
  summaryFromJob,
  DEFAULT_BATCH_SIZE,
  type ImportFileInput,
  type ImportLogger,
  type ImportSummary,
  type RunImportOptions,
} from './import-job.service.js';
export { InProcessImportRunner, type ImportJobRef, type ImportRunner } from './import-runner.js';
export {
  startHostedImports,
  runHostedImportJob,
  type HostedImportJobDeps,
  type FileReadyEvent,
  type HostedImports,
  type HostedImportsDeps,
} from './hosted-imports.js';
export { renderImportProgress } from './import-progress.js';
export {
  pollRemoteImport,
  type RemotePollDeps,
  type RemotePollOptions,
  type RemotePollResult,
} from './remote-poll.js';
