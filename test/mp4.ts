/**
 * Just enough of ISO BMFF (MP4) to check a video the server wrote: walks the boxes and reads the
 * video track's codec, size (tkhd), frame count (stsz), timescale and duration (mdhd). The tests
 * read files this way so that they check what a player would read, without a decoder installed.
 */
export interface Mp4Facts {
  brands: string[];
  codec: string;
  width: number;
  height: number;
  frames: number;
  timescale: number;
  duration: number;
}

interface Box {
  type: string;
  start: number;
  end: number;
  body: number;
}

function* boxes(buf: Buffer, start: number, end: number): Generator<Box> {
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    let body = at + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) size = end - at;
    if (size < 8 || at + size > end) throw new Error(`bad box at ${at}`);
    yield { type: buf.toString('latin1', at + 4, at + 8), start: at, end: at + size, body };
    at += size;
  }
}

function child(buf: Buffer, parent: Box | null, path: string[]): Box {
  let box = parent;
  for (const type of path) {
    const found = [...boxes(buf, box ? box.body : 0, box ? box.end : buf.length)].find((b) => b.type === type);
    if (!found) throw new Error(`no ${path.join('/')} box (missing ${type})`);
    box = found;
  }
  return box!;
}

export function mp4Facts(buf: Buffer): Mp4Facts {
  const ftyp = child(buf, null, ['ftyp']);
  const brands = [buf.toString('latin1', ftyp.body, ftyp.body + 4)];
  for (let at = ftyp.body + 8; at + 4 <= ftyp.end; at += 4) brands.push(buf.toString('latin1', at, at + 4));
  const moov = child(buf, null, ['moov']);
  const trak = [...boxes(buf, moov.body, moov.end)].filter((b) => b.type === 'trak').find((t) => {
    const hdlr = child(buf, t, ['mdia', 'hdlr']);
    return buf.toString('latin1', hdlr.body + 8, hdlr.body + 12) === 'vide';
  });
  if (!trak) throw new Error('no video track');
  const tkhd = child(buf, trak, ['tkhd']);
  const v1 = buf[tkhd.body] === 1;
  // tkhd ends with width and height as 16.16 fixed point.
  const width = buf.readUInt32BE(tkhd.end - 8) / 65536;
  const height = buf.readUInt32BE(tkhd.end - 4) / 65536;
  void v1;
  const mdhd = child(buf, trak, ['mdia', 'mdhd']);
  const mdhdV1 = buf[mdhd.body] === 1;
  const timescale = buf.readUInt32BE(mdhd.body + (mdhdV1 ? 20 : 12));
  const duration = mdhdV1 ? Number(buf.readBigUInt64BE(mdhd.body + 24)) : buf.readUInt32BE(mdhd.body + 16);
  const stbl = child(buf, trak, ['mdia', 'minf', 'stbl']);
  const stsd = child(buf, stbl, ['stsd']);
  const codec = buf.toString('latin1', stsd.body + 12, stsd.body + 16);
  const stsz = child(buf, stbl, ['stsz']);
  const frames = buf.readUInt32BE(stsz.body + 8);
  return { brands, codec, width, height, frames, timescale, duration };
}
