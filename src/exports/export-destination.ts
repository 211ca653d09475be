/**
 * The `ExportDestination` port (CONVENTIONS #5): where an export file goes. Exports own the port; the hosted
 * space implements it here over `SpaceFs`, and the jobs capability adds the customer's remote SFTP space.
 * Names are plain file names inside the destination's folder.
 */
import type { Readable } from 'node:stream';
import { DatasyncError } from '../errors.js';
import { type HostedSpaces, type SpaceFs } from '../spaces/index.js';
import type { ExportInstance } from './export-instance.js';

export interface ExportDestination {
  /** Stable label stored with each file record (`hosted:/export`), so retention removes from the right place. */
  readonly label: string;
  /** Writes the whole stream to a new file `name` (creating the folder if missing); resolves the bytes written. */
  writeFile(name: string, data: Readable): Promise<number>;
  /** Renames without replacing: rejects with an error for which `isExists` is true when `to` exists. */
  rename(from: string, to: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  /** Removes a file; a missing file is not an error. */
  remove(name: string): Promise<void>;
  isExists(e: unknown): boolean;
}

/** Writes are gathered into blocks of this size: csv-stringify emits one small chunk per row. */
const BLOCK_BYTES = 256 * 1024;

/** The hosted space's folder (default `/export`) of one account, through the space jail. */
export class HostedExportDestination implements ExportDestination {
  readonly label: string;

  constructor(
    private readonly fs: SpaceFs,
    private readonly folder: string,
  ) {
    this.folder = folder.length > 1 ? folder.replace(/\/+$/, '') : folder;
    this.label = `hosted:${this.folder}`;
  }

  private path(name: string): string {
    return this.folder === '/' ? `/${name}` : `${this.folder}/${name}`;
  }

  private async ensureFolder(): Promise<void> {
    let cur = '';
    for (const part of this.folder.split('/').filter(Boolean)) {
      cur += `/${part}`;
      try {
        await this.fs.mkdir(cur);
      } catch (e) {
        if (!this.fs.isExists(e)) throw e;
      }
    }
  }

  async writeFile(name: string, data: Readable): Promise<number> {
    await this.ensureFolder();
    const f = await this.fs.open(this.path(name), { write: true, create: true, exclusive: true });
    let pos = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const block = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await f.write(block, pos);
      pos += block.length;
    };
    try {
      // for-await pulls one chunk at a time: the producer waits while a block is being written (back-pressure).
      for await (const chunk of data as AsyncIterable<Buffer | string>) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        pending.push(b);
        pendingBytes += b.length;
        if (pendingBytes >= BLOCK_BYTES) await flush();
      }
      await flush();
    } finally {
      await f.close();
    }
    return pos;
  }

  rename(from: string, to: string): Promise<void> {
    return this.fs.rename(this.path(from), this.path(to), { overwrite: false });
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.fs.stat(this.path(name));
      return true;
    } catch (e) {
      if (this.fs.isNotFound(e)) return false;
      throw e;
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.fs.remove(this.path(name));
    } catch (e) {
      if (!this.fs.isNotFound(e)) throw e;
    }
  }

  isExists(e: unknown): boolean {
    return this.fs.isExists(e);
  }
}

/** Finds the destination of an instance; the jobs capability passes one that also knows remote spaces. */
export type DestinationResolver = (
  instance: ExportInstance,
) => ExportDestination | Promise<ExportDestination>;

/**
 * The default resolver: hosted folders through `HostedSpaces`; a remote destination needs the resolver of the
 * jobs capability (`remote` given here), else the run fails with DS_EXPORT_DESTINATION.
 */
export function defaultDestinationResolver(
  spaces: HostedSpaces,
  remote?: DestinationResolver,
): DestinationResolver {
  return async (inst) => {
    if (inst.destination.type === 'hosted') {
      // An account whose space was never opened over SFTP has no folders yet.
      await spaces.ensureAccount(inst.accountId);
      return new HostedExportDestination(spaces.fs(inst.accountId), inst.destination.folder);
    }
    if (remote) return remote(inst);
    throw new DatasyncError(
      'DS_EXPORT_DESTINATION',
      `remote destination "${inst.destination.remoteId}" is not available`,
    );
  };
}
