/**
 * normalizeMobile's memoised fast path for `+digits` numbers must give exactly what libphonenumber-js gives:
 * compared here over every calling code, every national length and random digits (seeded, reproducible),
 * including numbers that start with a national prefix (those take the slow path).
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';
import { describe, expect, it } from 'vitest';
import { normalizeMobile } from '../../src/store/index.js';

function reference(candidate: string): string | null {
  if (!/^\+[0-9]{6,17}$/.test(candidate)) return null;
  const pn = parsePhoneNumberFromString(candidate);
  return pn && pn.isPossible() ? pn.number.slice(1) : null;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('normalizeMobile fast path', () => {
  it('agrees with libphonenumber-js on every calling code and length', () => {
    const codes = Object.keys(
      (metadata as unknown as { country_calling_codes: object }).country_calling_codes,
    );
    expect(codes.length).toBeGreaterThan(200);
    const rand = rng(42);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
    let compared = 0;
    let possible = 0;
    for (const cc of codes)
      for (let len = 3; len <= 15; len++)
        // Twice per (code, length) so the memoised answer is exercised, plus leading 0 and 1 (national prefixes).
        for (const national of [digits(len), digits(len), '0' + digits(len - 1), '1' + digits(len - 1)]) {
          const candidate = `+${cc}${national}`;
          const got = normalizeMobile({ number: candidate });
          expect(got, candidate).toBe(reference(candidate));
          compared++;
          if (got !== null) possible++;
        }
    expect(compared).toBeGreaterThan(10_000);
    expect(possible).toBeGreaterThan(1000);
  });

  it('keeps the documented examples', () => {
    expect(normalizeMobile({ number: '+39 347 123 4567' })).toBe('393471234567');
    expect(normalizeMobile({ number: '0039 3471234567' })).toBe('393471234567');
    expect(normalizeMobile({ number: '3471234567', defaultPrefix: '39' })).toBe('393471234567');
    expect(normalizeMobile({ number: '+44 07911 123456' })).toBe(reference('+4407911123456'));
    expect(normalizeMobile({ number: '+39 12' })).toBeNull();
  });
});
