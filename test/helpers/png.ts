/**
 * A minimal PNG decoder for checking screenshots: 8-bit greyscale, RGB or
 * RGBA, non-interlaced (what Chromium writes). Pixels come back as RGBA.
 */
import { inflateSync } from "node:zlib";

export interface Image {
  width: number;
  height: number;
  /** RGBA, row by row. */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function decodePng(png: Buffer): Image {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString("latin1", off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9] ?? -1;
      if (depth !== 8 || data[12] !== 0)
        throw new Error(`unsupported PNG: depth ${depth}, interlace ${data[12]}`);
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  const ch = CHANNELS[colorType];
  if (ch === undefined) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * ch;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i] ?? 0;
      const a = i >= ch ? (px[row + i - ch] ?? 0) : 0;
      const b = y > 0 ? (px[row - stride + i] ?? 0) : 0;
      const c = y > 0 && i >= ch ? (px[row - stride + i - ch] ?? 0) : 0;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else if (filter === 4) v = x + paeth(a, b, c);
      else throw new Error(`bad PNG filter ${filter}`);
      px[row + i] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = p * ch;
    const grey = ch <= 2;
    rgba[p * 4] = px[s] ?? 0;
    rgba[p * 4 + 1] = grey ? (px[s] ?? 0) : (px[s + 1] ?? 0);
    rgba[p * 4 + 2] = grey ? (px[s] ?? 0) : (px[s + 2] ?? 0);
    rgba[p * 4 + 3] = ch === 4 ? (px[s + 3] ?? 255) : ch === 2 ? (px[s + 1] ?? 255) : 255;
  }
  return { width, height, rgba };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Colour counts of an image, keyed by 0xRRGGBB. */
export function colourCounts(img: Image): Map<number, number> {
  const out = new Map<number, number>();
  for (let p = 0; p < img.width * img.height; p++) {
    const k = ((img.rgba[p * 4] ?? 0) << 16) | ((img.rgba[p * 4 + 1] ?? 0) << 8) | (img.rgba[p * 4 + 2] ?? 0);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** The colour at (x, y) as 0xRRGGBB. */
export function pixel(img: Image, x: number, y: number): number {
  const p = (y * img.width + x) * 4;
  return ((img.rgba[p] ?? 0) << 16) | ((img.rgba[p + 1] ?? 0) << 8) | (img.rgba[p + 2] ?? 0);
}
