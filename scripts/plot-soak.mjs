#!/usr/bin/env node
// Draws a chorus-bench soak report (--json) as an SVG: the server's RSS (MiB) and its live
// consumers over the churn, with the idle value before and the value after as lines.
//   node scripts/plot-soak.mjs soak.json > docs/img/soak-1h.svg
import fs from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node scripts/plot-soak.mjs SOAK.json > OUT.svg\n');
  process.exit(2);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const rows = [r.idle && { ...r.idle, t: 0 }, ...r.rows, r.end].filter(Boolean);
const W = 720, H = 320, L = 60, R = 60, T = 30, B = 40;
const tMax = Math.max(...rows.map((x) => x.t), 1);
const mib = (k) => k / 1024;
const rssValues = rows.map((x) => mib(x.rssKiB)).concat([mib(r.after.rssKiB)]);
const rMin = Math.floor(Math.min(...rssValues) - 2), rMax = Math.ceil(Math.max(...rssValues) + 2);
const cMax = Math.max(10, ...rows.map((x) => x.consumers));
const X = (t) => L + ((W - L - R) * t) / tMax;
const Y = (v) => T + ((H - T - B) * (rMax - v)) / (rMax - rMin);
const Yc = (v) => T + ((H - T - B) * (cMax - v)) / cMax;
const path = (pts) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
const out = [];
out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
out.push(`<text x="${L}" y="18" font-size="13">chorus-bench soak: ${r.durationS} s, ${r.participants} participants in ${r.rooms} rooms</text>`);
for (let v = rMin; v <= rMax; v += Math.max(1, Math.round((rMax - rMin) / 6))) {
  out.push(`<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
  out.push(`<text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end">${v}</text>`);
}
for (let i = 0; i <= 6; ++i) {
  const t = (tMax * i) / 6;
  out.push(`<text x="${X(t)}" y="${H - B + 16}" text-anchor="middle">${Math.round(t / 60)} min</text>`);
}
out.push(`<text x="14" y="${T + (H - T - B) / 2}" transform="rotate(-90 14 ${T + (H - T - B) / 2})" text-anchor="middle" fill="#1f5fbf">server RSS (MiB)</text>`);
out.push(`<text x="${W - 14}" y="${T + (H - T - B) / 2}" transform="rotate(90 ${W - 14} ${T + (H - T - B) / 2})" text-anchor="middle" fill="#c77">live consumers</text>`);
out.push(`<path d="${path(rows.map((x) => [X(x.t), Yc(x.consumers)]))}" fill="none" stroke="#c77" stroke-width="1"/>`);
out.push(`<path d="${path(rows.map((x) => [X(x.t), Y(mib(x.rssKiB))]))}" fill="none" stroke="#1f5fbf" stroke-width="2"/>`);
out.push(`<line x1="${L}" x2="${W - R}" y1="${Y(mib(r.idle.rssKiB))}" y2="${Y(mib(r.idle.rssKiB))}" stroke="#1f5fbf" stroke-dasharray="4 3"/>`);
out.push(`<text x="${L + 4}" y="${Y(mib(r.idle.rssKiB)) - 4}" fill="#1f5fbf">idle ${mib(r.idle.rssKiB).toFixed(1)} MiB</text>`);
out.push(`<circle cx="${W - R}" cy="${Y(mib(r.after.rssKiB))}" r="4" fill="#1f5fbf"/>`);
out.push(`<text x="${W - R - 6}" y="${Y(mib(r.after.rssKiB)) + 16}" text-anchor="end" fill="#1f5fbf">after: ${mib(r.after.rssKiB).toFixed(1)} MiB, counts ${r.ok ? 'back to idle' : 'NOT back'}</text>`);
out.push('</svg>');
process.stdout.write(out.join('\n') + '\n');
