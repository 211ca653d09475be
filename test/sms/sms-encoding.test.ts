import { describe, expect, it } from 'vitest';
import { encodeGsm7, encodeUcs2, isGsm7, segmentText } from '../../src/sms/index.js';

describe('GSM-7 / UCS-2 segment counting', () => {
  const cases: [string, string, 'gsm7' | 'ucs2', number, number][] = [
    ['empty', '', 'gsm7', 0, 1],
    ['plain 160', 'a'.repeat(160), 'gsm7', 160, 1],
    ['plain 161', 'a'.repeat(161), 'gsm7', 161, 2],
    ['plain 306 = 2×153', 'a'.repeat(306), 'gsm7', 306, 2],
    ['plain 307', 'a'.repeat(307), 'gsm7', 307, 3],
    ['plain 459 = 3×153', 'a'.repeat(459), 'gsm7', 459, 3],
    ['accents of the basic table', 'Perché è già là? àèéìòù ÄÖÑÜ', 'gsm7', 28, 1],
    ['euro counts 2 septets', '€'.repeat(80), 'gsm7', 160, 1],
    ['81 euros overflow', '€'.repeat(81), 'gsm7', 162, 2],
    ['extension table', '{}[]~|^\\€', 'gsm7', 18, 1],
    ['one emoji forces UCS-2', 'Hi 😀', 'ucs2', 5, 1],
    ['UCS-2 70', 'ж'.repeat(70), 'ucs2', 70, 1],
    ['UCS-2 71', 'ж'.repeat(71), 'ucs2', 71, 2],
    ['UCS-2 134 = 2×67', 'ж'.repeat(134), 'ucs2', 134, 2],
    ['UCS-2 135', 'ж'.repeat(135), 'ucs2', 135, 3],
    ['ç (only in the Spanish shift) needs UCS-2', 'ça', 'ucs2', 2, 1],
  ];
  it.each(cases)('%s', (_name, text, enc, units, parts) => {
    const s = segmentText(text);
    expect(s.encoding).toBe(enc);
    expect(s.units).toBe(units);
    expect(s.parts).toBe(parts);
    expect(s.segments.join('')).toBe(text);
  });

  it('never splits an escape pair across parts (152 + €)', () => {
    const text = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    const s = segmentText(text);
    expect(s.parts).toBe(2);
    expect(s.segments[0]).toBe('a'.repeat(152));
    expect(s.segments[1]!.startsWith('€')).toBe(true);
  });

  it('never splits a surrogate pair across parts', () => {
    const text = 'ж'.repeat(66) + '😀' + 'ж'.repeat(10);
    const s = segmentText(text);
    expect(s.encoding).toBe('ucs2');
    expect(s.segments[0]).toBe('ж'.repeat(66));
    expect(s.segments[1]!.startsWith('😀')).toBe(true);
  });

  it('UNICODE=1 forces UCS-2 even for GSM text', () => {
    expect(segmentText('Hello', true)).toMatchObject({ encoding: 'ucs2', units: 5, parts: 1 });
    expect(segmentText('a'.repeat(71), true).parts).toBe(2);
  });

  it('encodes GSM-7 septets (unpacked) with ESC for the extension table, UCS-2 big-endian', () => {
    expect([...encodeGsm7('@A€')]).toEqual([0x00, 0x41, 0x1b, 0x65]);
    expect([...encodeUcs2('Aж')]).toEqual([0x00, 0x41, 0x04, 0x36]);
    expect(isGsm7('ç')).toBe(false);
    expect(isGsm7('Ç')).toBe(true);
  });
});
