// Draws the extension icon (128x128 PNG: a falling loss curve on a rounded tile) without any
// image library: pixels are computed here and encoded as PNG with zlib.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const output = process.argv[2] ?? 'images/icon.png';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) {
    c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// Distance from point p to segment ab.
function segmentDistance(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

// The loss curve: exponential decay sampled into a polyline.
const curve = Array.from({ length: 24 }, (_, i) => {
  const x = 22 + (i / 23) * 84;
  return [x, 100 - 64 * Math.exp(-(x - 22) / 22)];
});
const dots = [curve[0], curve[6], curve[23]];

function pixel(x, y) {
  const cx = x + 0.5;
  const cy = y + 0.5;
  // Rounded tile with a vertical gradient from deep blue to teal.
  const r = 22;
  const qx = Math.max(Math.abs(cx - 64) - (64 - r), 0);
  const qy = Math.max(Math.abs(cy - 64) - (64 - r), 0);
  const tileAlpha = Math.max(0, Math.min(1, r - Math.hypot(qx, qy) + 0.5));
  if (tileAlpha === 0) {
    return [0, 0, 0, 0];
  }
  const t = cy / SIZE;
  let color = [20 + 10 * t, 40 + 80 * t, 90 + 60 * t];
  // Axes.
  if ((Math.abs(cx - 20) < 1.5 && cy > 24 && cy < 106) || (Math.abs(cy - 106) < 1.5 && cx > 20 && cx < 110)) {
    color = [200, 220, 235];
  }
  // Curve, then dots on it.
  let d = Infinity;
  for (let i = 1; i < curve.length; i++) {
    d = Math.min(d, segmentDistance(cx, cy, ...curve[i - 1], ...curve[i]));
  }
  const curveAlpha = Math.max(0, Math.min(1, 3.5 - d));
  color = color.map((c, i) => c * (1 - curveAlpha) + [255, 170, 60][i] * curveAlpha);
  for (const [dx, dy] of dots) {
    const a = Math.max(0, Math.min(1, 6.5 - Math.hypot(cx - dx, cy - dy)));
    color = color.map((c, i) => c * (1 - a) + [255, 255, 255][i] * a);
  }
  return [...color.map((c) => Math.round(c)), Math.round(255 * tileAlpha)];
}

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  raw[y * (SIZE * 4 + 1)] = 0; // filter: none
  for (let x = 0; x < SIZE; x++) {
    const offset = y * (SIZE * 4 + 1) + 1 + x * 4;
    pixel(x, y).forEach((v, i) => (raw[offset + i] = v));
  }
}
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', header),
  chunk('IDAT', deflateSync(raw)),
  chunk('IEND', Buffer.alloc(0)),
]);
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, png);
