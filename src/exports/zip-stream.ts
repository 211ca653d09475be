/**
 * A one-entry ZIP archive written as a stream (the export file inside, deflated). The sizes and CRC are not
 * known before the end, so the local header sets general-purpose bit 3 and a data descriptor follows the data,
 * as every unzip tool reads. Not ZIP64: an entry must stay below 4 GiB (the run fails cleanly past it).
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

const MAX_32 = 0xffffffff;

function dosDateTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Transform: the entry's bytes in, the ZIP archive out. */
export function zipOneEntry(entryName: string, modified: Date): Transform {
  const name = Buffer.from(entryName, 'utf8');
  const { time, date } = dosDateTime(modified);
  const FLAGS = 0x0008 | 0x0800; // data descriptor follows; name is UTF-8
  let crc = 0;
  let size = 0;
  let compressed = 0;
  let headerSent = false;
  const deflate = zlib.createDeflateRaw({ level: 6 });

  const localHeader = () => {
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4); // version needed
    h.writeUInt16LE(FLAGS, 6);
    h.writeUInt16LE(8, 8); // deflate
    h.writeUInt16LE(time, 10);
    h.writeUInt16LE(date, 12);
    // crc and sizes: zero here, in the data descriptor instead
    h.writeUInt16LE(name.length, 26);
    return Buffer.concat([h, name]);
  };

  const out: Transform = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!headerSent) {
        this.push(localHeader());
        headerSent = true;
      }
      crc = zlib.crc32(chunk, crc);
      size += chunk.length;
      if (size > MAX_32) return cb(new Error('zip entry larger than 4 GiB'));
      // Respect deflate's own buffer: wait for it to drain before taking the next chunk.
      if (deflate.write(chunk)) cb();
      else deflate.once('drain', () => cb());
    },
    flush(cb: TransformCallback) {
      if (!headerSent) {
        this.push(localHeader());
        headerSent = true;
      }
      // 'end' (not the end() callback) fires once every compressed byte has been read out of deflate.
      deflate.once('end', () => {
        const localLen = 30 + name.length;
        const dd = Buffer.alloc(16);
        dd.writeUInt32LE(0x08074b50, 0);
        dd.writeUInt32LE(crc >>> 0, 4);
        dd.writeUInt32LE(compressed, 8);
        dd.writeUInt32LE(size, 12);
        const cd = Buffer.alloc(46);
        cd.writeUInt32LE(0x02014b50, 0);
        cd.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
        cd.writeUInt16LE(20, 6);
        cd.writeUInt16LE(FLAGS, 8);
        cd.writeUInt16LE(8, 10);
        cd.writeUInt16LE(time, 12);
        cd.writeUInt16LE(date, 14);
        cd.writeUInt32LE(crc >>> 0, 16);
        cd.writeUInt32LE(compressed, 20);
        cd.writeUInt32LE(size, 24);
        cd.writeUInt16LE(name.length, 28);
        cd.writeUInt32LE((0o100640 << 16) >>> 0, 38); // external attributes: regular file, rw-r-----
        cd.writeUInt32LE(0, 42); // local header offset
        const cdOffset = localLen + compressed + dd.length;
        const eocd = Buffer.alloc(22);
        eocd.writeUInt32LE(0x06054b50, 0);
        eocd.writeUInt16LE(1, 8);
        eocd.writeUInt16LE(1, 10);
        eocd.writeUInt32LE(cd.length + name.length, 12);
        eocd.writeUInt32LE(cdOffset, 16);
        if (cdOffset > MAX_32) return cb(new Error('zip archive larger than 4 GiB'));
        this.push(Buffer.concat([dd, cd, name, eocd]));
        cb();
      });
      deflate.end();
    },
  });
  deflate.on('data', (c: Buffer) => {
    compressed += c.length;
    out.push(c);
  });
  deflate.on('error', (e) => out.destroy(e));
  return out;
}
