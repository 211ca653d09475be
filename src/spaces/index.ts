/**
 * spaces/ — where files live. Public face:
 * - `HostedSpaces`: per-account folders on local disk, the jail (`resolve`, `resolveOnDisk`), disk usage;
 * - `SpaceFs`: the port imports/exports/sftp use on a space (hosted disk now, remote SFTP later);
 * - `FileReady` + `FileReadyBus`: the "file ready" event of invariant 1.
 */
export { HostedSpaces, HostedSpaceFs, SPACE_FOLDERS } from './hosted-spaces.js';
export type {
  SpaceDirEntry,
  SpaceEntryKind,
  SpaceFile,
  SpaceFs,
  SpaceFsStats,
  SpaceOpenFlags,
  SpaceStat,
} from './space-fs.js';
export {
  normalizeSpacePath,
  spacePathName,
  spacePathParent,
  spacePathParts,
  MAX_NAME_BYTES,
  MAX_SPACE_PATH_BYTES,
} from './space-path.js';
export { FileReadyBus } from './file-ready.js';
export type { FileReady, FileReadyListener } from './file-ready.js';
export {
  connectRemoteSpace,
  RemoteSftpSpace,
  hostKeyFingerprint,
  type RemoteSpaceConfig,
} from './remote-sftp-space.js';
export * from './remote-transfer.js';
