/** The roles `datasync serve --roles` can run in one process (ARCHITECTURE.md "Scale-out"). */
export const ROLES = ['sftp', 'http', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];
