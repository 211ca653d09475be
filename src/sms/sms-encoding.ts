/**
 * SMS text encoding and segment counting (3GPP TS 23.038 / 23.040).
 *
 * - GSM-7: the default alphabet (1 septet per character) plus the extension table reached through ESC
 *   (`^ { } \ [ ~ ] | €` and form feed: 2 septets each). 160 septets fit one SMS; concatenated messages lose
 *   7 septets per part to the 6-byte UDH, so 153 per part. An escape pair is never split across two parts
 *   (handsets would show the ESC as a space), so a part may hold 152.
 * - UCS-2 (UTF-16BE): 70 code units in one SMS, 67 per part when concatenated; a surrogate pair (emoji) is
 *   never split across parts.
 * The SMPP provider sends exactly the parts computed here, so what the result file counts is what is billed.
 */

export type SmsEncoding = 'gsm7' | 'ucs2';

/** The GSM 03.38 default alphabet, indexed by septet value (0x1B, ESC, is not a character). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** Extension table: character → septet that follows ESC. */
const GSM_EXTENSION: ReadonlyMap<string, number> = new Map([
  ['\f', 0x0a],
  ['^', 0x14],
  ['{', 0x28],
  ['}', 0x29],
  ['\\', 0x2f],
  ['[', 0x3c],
  ['~', 0x3d],
  [']', 0x3e],
  ['|', 0x40],
  ['€', 0x65],
]);
const GSM_BASIC_MAP: ReadonlyMap<string, number> = new Map(
  [...GSM_BASIC].map((c, i) => [c, i] as const).filter(([c]) => c !== '\x1b'),
);

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

/** Septets a character needs in GSM-7: 1 (basic), 2 (extension), or 0 when it is not in the alphabet. */
export function gsmSeptets(ch: string): 0 | 1 | 2 {
  if (GSM_BASIC_MAP.has(ch)) return 1;
  if (GSM_EXTENSION.has(ch)) return 2;
  return 0;
}

/** True when every character of `text` can be sent in GSM-7 (basic or extension table). */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsmSeptets(ch) === 0) return false;
  return true;
}

/** The characters of `text` that GSM-7 cannot carry (for error messages). */
export function nonGsmCharacters(text: string): string[] {
  const out = new Set<string>();
  for (const ch of text) if (gsmSeptets(ch) === 0) out.add(ch);
  return [...out];
}

/** GSM-7 septets, unpacked one per byte (the form SMPP carries with data_coding 0). */
export function encodeGsm7(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const b = GSM_BASIC_MAP.get(ch);
    if (b !== undefined) out.push(b);
    else {
      const e = GSM_EXTENSION.get(ch);
      if (e === undefined)
        throw new RangeError(`character U+${ch.codePointAt(0)!.toString(16)} is not GSM-7`);
      out.push(0x1b, e);
    }
  }
  return Buffer.from(out);
}

/** UTF-16BE bytes (UCS-2 as SMSCs accept it; surrogate pairs pass through for handsets that render them). */
export function encodeUcs2(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return le.swap16();
}

export interface SegmentInfo {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text. */
  units: number;
  /** Number of SMS parts (1 when it fits a single message). */
  parts: number;
  /** The text of each part, in order (one element when `parts` is 1). */
  segments: string[];
}

/**
 * Choose the encoding and split the text into parts. `forceUcs2` is the row's `UNICODE` flag; without it
 * GSM-7 is used whenever every character allows it, and UCS-2 otherwise.
 */
export function segmentText(text: string, forceUcs2 = false): SegmentInfo {
  const encoding: SmsEncoding = !forceUcs2 && isGsm7(text) ? 'gsm7' : 'ucs2';
  const chars = [...text];
  const cost = (ch: string): number => (encoding === 'gsm7' ? gsmSeptets(ch) : ch.length);
  let units = 0;
  for (const ch of chars) units += cost(ch);
  const single = encoding === 'gsm7' ? GSM7_SINGLE : UCS2_SINGLE;
  if (units <= single) return { encoding, units, parts: 1, segments: [text] };
  const perPart = encoding === 'gsm7' ? GSM7_PART : UCS2_PART;
  const segments: string[] = [];
  let cur = '';
  let used = 0;
  for (const ch of chars) {
    const c = cost(ch);
    // Greedy packing that never splits an escape pair or a surrogate pair across two parts.
    if (used + c > perPart) {
      segments.push(cur);
      cur = '';
      used = 0;
    }
    cur += ch;
    used += c;
  }
  if (cur) segments.push(cur);
  return { encoding, units, parts: segments.length, segments };
}

/** Encode one part's text for the wire. */
export function encodeSegment(text: string, encoding: SmsEncoding): Buffer {
  return encoding === 'gsm7' ? encodeGsm7(text) : encodeUcs2(text);
}

/** SMPP data_coding of an encoding: 0 = SMSC default alphabet (GSM-7), 8 = UCS-2. */
export function dataCoding(encoding: SmsEncoding): number {
  return encoding === 'gsm7' ? 0x00 : 0x08;
}

/**
 * The 6-byte concatenation UDH (IEI 0x00, 8-bit reference) for part `seq` of `total`. The reference ties the
 * parts together on the handset; it only has to differ between concurrent long messages to one number.
 */
export function concatUdh(ref: number, total: number, seq: number): Buffer {
  return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}
