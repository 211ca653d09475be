/**
 * The `SpaceFs` port (CONVENTIONS #5): the narrow file-system surface that `sftp/`, imports and exports use
 * on an account's space. Paths are space paths (`/import/a.csv`), never disk paths. Two backends: the hosted
 * disk (`HostedSpaceFs`, here) and, later, the customer's remote SFTP space. Each backend classifies its own
 * errors so callers never inspect `errno` strings.
 */

/** What a space entry is. Symlinks and devices never appear: the hosted space hides and refuses them. */
export type SpaceEntryKind = 'file' | 'directory';

export interface SpaceStat {
  kind: SpaceEntryKind;
  /** Bytes. */
  size: number;
  /** POSIX permission bits (informational: clients cannot change them). */
  mode: number;
  uid: number;
  gid: number;
  atime: Date;
  mtime: Date;
}

export interface SpaceDirEntry {
  name: string;
  stat: SpaceStat;
}

/** How to open a file; mirrors SFTP's pflags and POSIX open(2). At least one of read/write must be set. */
export interface SpaceOpenFlags {
  read?: boolean;
  write?: boolean;
  /** Every write goes to the end of the file, whatever position it names. */
  append?: boolean;
  create?: boolean;
  truncate?: boolean;
  /** With `create`: fail if the file already exists. */
  exclusive?: boolean;
}

/** An open file. Positions are byte offsets. Not safe for concurrent `close()`. */
export interface SpaceFile {
  /** Reads up to `length` bytes at `position` into `buffer` (from its start); resolves the count (0 at EOF). */
  read(buffer: Buffer, position: number, length: number): Promise<number>;
  /** Writes the whole of `data` at `position`. */
  write(data: Buffer, position: number): Promise<void>;
  stat(): Promise<SpaceStat>;
  truncate(size: number): Promise<void>;
  setTimes(atime: Date, mtime: Date): Promise<void>;
  close(): Promise<void>;
}

/** File-system totals in the style of statvfs(3), for `df` in SFTP clients. */
export interface SpaceFsStats {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  blocksAvailable: number;
  files: number;
  filesFree: number;
}

export interface SpaceFs {
  stat(path: string): Promise<SpaceStat>;
  readdir(path: string): Promise<SpaceDirEntry[]>;
  open(path: string, flags: SpaceOpenFlags): Promise<SpaceFile>;
  /** Renames a file or folder. With `overwrite: false` (the default) an existing target is an `isExists` error. */
  rename(from: string, to: string, opts?: { overwrite?: boolean }): Promise<void>;
  /** Removes a file (not a folder). */
  remove(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Removes an empty folder. */
  rmdir(path: string): Promise<void>;
  truncate(path: string, size: number): Promise<void>;
  setTimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /** Bytes used by the files of the space. */
  usage(): Promise<number>;
  statfs(): Promise<SpaceFsStats>;

  /** The entry (or a parent folder) does not exist. */
  isNotFound(e: unknown): boolean;
  /** The path is refused (jail, refused characters) or the disk denies access. */
  isPermission(e: unknown): boolean;
  /** The target already exists. */
  isExists(e: unknown): boolean;
  /** The folder is not empty. */
  isNotEmpty(e: unknown): boolean;
  /** The operation does not fit the entry (a folder where a file was expected, or the reverse). */
  isWrongKind(e: unknown): boolean;
}
