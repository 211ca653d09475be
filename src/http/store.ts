/**
 * The store functions http/ uses, in one place: the foundation's `store/index.ts` plus this capability's
 * own store files, which the lead adds to `store/index.ts` (then this file re-exports only the index).
 */
export * from '../store/index.js';
export * from '../store/engagement-tables.js';
export * from '../store/engagement-messages.repository.js';
export * from '../store/engagement-events.repository.js';
