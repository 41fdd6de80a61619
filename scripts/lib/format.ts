/** How the scripts print figures: MiB, thousands separators, Markdown tables. */

export const mib = (kib: number) => (kib / 1024).toFixed(1);
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A Markdown-style table with right-aligned cells. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padStart(widths[i])).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w) => '-'.repeat(w + 1) + ':').join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}
