// SPDX-License-Identifier: Apache-2.0
/** A bar chart as a standalone SVG document, no dependencies: the throughput ratio plot of `npm run bench`. */

/** One bar: a label under it and a value (a ratio: 1 = 100 %), with an optional range drawn as a whisker. */
export interface Bar {
  label: string;
  value: number;
  min?: number;
  max?: number;
}

/** A group of bars under a common caption (e.g. "sequential read"). */
export interface BarGroup {
  caption: string;
  bars: Bar[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Grouped bars of ratios in percent, with a dashed line at 100 %, each
 * bar's value written above it and its range (min to max), if given, as a
 * whisker. Width grows with the number of bars.
 */
export function ratioChart(title: string, subtitle: string, groups: BarGroup[]): string {
  const barW = 46, gap = 14, groupGap = 40, left = 60, top = 60, plotH = 260, bottom = 70;
  const n = groups.reduce((a, g) => a + g.bars.length, 0);
  // wide enough for the title (15 px bold) and the subtitle (12 px): about 0.6 of the font size per character
  const width = Math.max(left + n * (barW + gap) + groups.length * groupGap + 20, left + 20 + Math.ceil(Math.max(title.length * 9, subtitle.length * 6.5)));
  const height = top + plotH + bottom;
  const max = Math.max(1.2, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max ?? 0)))) * 1.1;
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="40" fill="#555">${esc(subtitle)}</text>`);
  for (let t = 0; t <= max; t += max > 3 ? 0.5 : 0.25) {
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="#555">${Math.round(t * 100)} %</text>`);
  }
  let x = left + groupGap / 2;
  for (const g of groups) {
    const gx = x;
    for (const b of g.bars) {
      const h = Math.max(0, top + plotH - y(b.value));
      out.push(`<rect x="${x}" y="${y(b.value)}" width="${barW}" height="${h}" fill="${b.value >= 0.8 ? '#2b8a3e' : b.value >= 0.5 ? '#e8a317' : '#c92a2a'}"/>`);
      const labelY = b.max !== undefined ? Math.min(y(b.value), y(b.max)) : y(b.value);
      if (b.min !== undefined && b.max !== undefined) {
        const cx = x + barW / 2;
        out.push(`<line x1="${cx}" x2="${cx}" y1="${y(b.min)}" y2="${y(b.max)}" stroke="#222"/>`);
        for (const v of [b.min, b.max]) out.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${y(v)}" y2="${y(v)}" stroke="#222"/>`);
      }
      out.push(`<text x="${x + barW / 2}" y="${labelY - 4}" text-anchor="middle">${Math.round(b.value * 100)} %</text>`);
      out.push(`<text x="${x + barW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(b.label)}</text>`);
      x += barW + gap;
    }
    out.push(`<text x="${(gx + x - gap) / 2}" y="${top + plotH + 36}" text-anchor="middle" font-weight="bold">${esc(g.caption)}</text>`);
    x += groupGap;
  }
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(1)}" y2="${y(1)}" stroke="#333" stroke-dasharray="5,4"/>`);
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
