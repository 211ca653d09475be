import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, DatasyncError, publicError } from '../../src/errors.js';

describe('error registry', () => {
  const doc = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it('documents every code in docs/errors.md', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !new RegExp(`\\|\\s*${code}\\s*\\|`).test(doc));
    expect(missing).toEqual([]);
  });

  it('uses UPPER_SNAKE codes with the DS_ prefix', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^DS_[A-Z0-9_]+$/);
  });

  it('never leaks the text of unknown errors', () => {
    expect(publicError(new Error('password=hunter2 at db.ts:12'))).toEqual({
      code: 'DS_INTERNAL',
      message: 'internal error',
    });
    const e = new DatasyncError('DS_EMAIL_INVALID', 'bad email', { cause: new Error('inner') });
    expect(publicError(e)).toEqual({ code: 'DS_EMAIL_INVALID', message: 'bad email' });
    expect(e.status).toBe(400);
  });
});
