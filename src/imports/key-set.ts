/**
 * Compact sets for million-row files, where a `Set<string>` of keys would cost ~100 bytes a row:
 * - `KeySet`: 64-bit hashes of normalised keys (8 bytes a key), to count keys seen earlier in the file
 *   (reference §2.6: last row wins, duplicates counted). With 5M keys the chance of one false "duplicate" is
 *   about 1 in a million; a false duplicate only changes a counter, never data.
 * - `IdBitset`: one bit per recipient id, for "seen in this file" in full imports.
 */

function hash32(kind: string, s: string, seed: number): number {
  // FNV-1a over UTF-16 code units with a seed; two seeds give the two halves of a 64-bit hash. The key's kind
  // is hashed first, so `e` + key and `m` + key differ without building the concatenated string per row.
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < kind.length; i++) {
    h ^= kind.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  private count = 0;

  constructor(capacity = 1 << 16) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key of this kind (`e` email, `m` mobile); returns true when it was (probably) already there. */
  addAndCheck(kind: string, key: string): boolean {
    if (this.count * 4 >= this.used.length * 3) this.grow();
    return this.insert(hash32(kind, key, 0), hash32(kind, key, 0x9e3779b9));
  }

  private insert(a: number, b: number): boolean {
    const mask = this.used.length - 1;
    let i = (a ^ b) & mask;
    while (this.used[i] === 1) {
      if (this.hi[i] === a && this.lo[i] === b) return true;
      i = (i + 1) & mask;
    }
    this.used[i] = 1;
    this.hi[i] = a;
    this.lo[i] = b;
    this.count++;
    return false;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    const cap = used.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.count = 0;
    for (let i = 0; i < used.length; i++) if (used[i] === 1) this.insert(hi[i]!, lo[i]!);
  }
}

export class IdBitset {
  private bits = new Uint8Array(1 << 12);

  set(id: number): void {
    const byte = id >>> 3;
    if (byte >= this.bits.length) {
      let cap = this.bits.length;
      while (cap <= byte) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.bits);
      this.bits = next;
    }
    this.bits[byte]! |= 1 << (id & 7);
  }

  has(id: number): boolean {
    const byte = id >>> 3;
    return byte < this.bits.length && (this.bits[byte]! & (1 << (id & 7))) !== 0;
  }
}
