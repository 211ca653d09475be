/**
 * The one error-mapping point of the SFTP transport (CONVENTIONS #7): DatasyncError / SpaceFs errors → SFTP
 * status codes with fixed, safe messages. Internal text never reaches the client; unexpected errors are logged.
 */
import ssh2 from 'ssh2';
import { isDatasyncError } from '../errors.js';
import type { SpaceFs } from '../spaces/index.js';

export const STATUS = ssh2.utils.sftp.STATUS_CODE;

export interface SftpStatus {
  code: number;
  message: string;
  /** True when the error was not expected (the caller logs it in full). */
  unexpected: boolean;
}

export function toSftpStatus(e: unknown, fs: SpaceFs): SftpStatus {
  if (isDatasyncError(e)) {
    switch (e.code) {
      case 'DS_SFTP_PATH_OUTSIDE':
      case 'DS_VALIDATION':
      case 'DS_FORBIDDEN':
        return { code: STATUS.PERMISSION_DENIED, message: 'Permission denied', unexpected: false };
      case 'DS_SFTP_QUOTA':
        // SFTP v3 has no quota status; FAILURE with a plain message is what OpenSSH clients print.
        return { code: STATUS.FAILURE, message: 'Quota exceeded', unexpected: false };
      case 'DS_NOT_FOUND':
        return { code: STATUS.NO_SUCH_FILE, message: 'No such file', unexpected: false };
      default:
        return { code: STATUS.FAILURE, message: 'Failure', unexpected: true };
    }
  }
  if (fs.isNotFound(e)) return { code: STATUS.NO_SUCH_FILE, message: 'No such file', unexpected: false };
  if (fs.isPermission(e))
    return { code: STATUS.PERMISSION_DENIED, message: 'Permission denied', unexpected: false };
  if (fs.isExists(e)) return { code: STATUS.FAILURE, message: 'File exists', unexpected: false };
  if (fs.isNotEmpty(e)) return { code: STATUS.FAILURE, message: 'Directory not empty', unexpected: false };
  if (fs.isWrongKind(e))
    return { code: STATUS.FAILURE, message: 'Not a regular file or not a directory', unexpected: false };
  return { code: STATUS.FAILURE, message: 'Failure', unexpected: true };
}
