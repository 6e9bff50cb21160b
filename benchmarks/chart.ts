/**
 * A self-contained SVG chart of one run: latency distributions (raw setup,
 * full stack) as box plots, throughput as grouped bars.
 */
import type { Results } from './report.js'

const COLORS: Record<string, string> = {
  'tolerant-ws': '#1b7f3b',
  'tolerant-ws (no bufferutil)': '#7cc38f',
  'tolerant-ws (compare)': '#a3a3a3',
  '@libp2p/websockets': '#c2410c',
  '@libp2p/tcp': '#1d4ed8',
  ws: '#6b7280',
  'ws (no bufferutil)': '#b6bcc6',
  net: '#111827'
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function color (label: string): string {
  return COLORS[label] ?? '#888'
}

const WIDTH = 900
const LABEL_W = 200
const PLOT_W = WIDTH - LABEL_W - 170

function niceMax (v: number): number {
  if (!(v > 0)) {
    return 1
  }
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * p >= v) {
      return m * p
    }
  }
  return 10 * p
}

function axis (x0: number, y: number, max: number, unit: string): string {
  const parts: string[] = []
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5
    const x = x0 + (PLOT_W * i) / 5
    parts.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${y + 4}" stroke="#999"/>`)
    parts.push(`<text x="${x}" y="${y + 16}" text-anchor="middle" class="tick">${Number(v.toPrecision(3))}</text>`)
  }
  parts.push(`<text x="${x0 + PLOT_W}" y="${y + 30}" text-anchor="end" class="tick">${esc(unit)}</text>`)
  return parts.join('')
}

function boxPlots (title: string, data: Record<string, { distribution: Record<string, number> }>, y0: number): { svg: string, height: number } {
  const rows = Object.entries(data)
  // the axis ends at the widest p95; longer whiskers are clipped at the edge
  const max = niceMax(Math.max(...rows.map(([, r]) => r.distribution.p95)))
  const x = (v: number): number => LABEL_W + (Math.min(v, max) / max) * PLOT_W
  const rowH = 26
  const parts: string[] = [`<text x="10" y="${y0 + 16}" class="title">${esc(title)}</text>`]
  let y = y0 + 30

  for (const [label, r] of rows) {
    const d = r.distribution
    const mid = y + rowH / 2
    parts.push(`<text x="${LABEL_W - 8}" y="${mid + 4}" text-anchor="end" class="label">${esc(label)}</text>`)
    parts.push(`<line x1="${x(d.p1)}" y1="${mid}" x2="${x(d.p99)}" y2="${mid}" stroke="${color(label)}"/>`)
    parts.push(`<line x1="${x(d.p1)}" y1="${mid - 5}" x2="${x(d.p1)}" y2="${mid + 5}" stroke="${color(label)}"/>`)
    parts.push(`<line x1="${x(d.p99)}" y1="${mid - 5}" x2="${x(d.p99)}" y2="${mid + 5}" stroke="${color(label)}"/>`)
    parts.push(`<rect x="${x(d.p10)}" y="${mid - 8}" width="${Math.max(1, x(d.p90) - x(d.p10))}" height="16" fill="${color(label)}" fill-opacity="0.25" stroke="${color(label)}"/>`)
    parts.push(`<rect x="${x(d.p25)}" y="${mid - 8}" width="${Math.max(1, x(d.p75) - x(d.p25))}" height="16" fill="${color(label)}" fill-opacity="0.55"/>`)
    parts.push(`<line x1="${x(d.p50)}" y1="${mid - 10}" x2="${x(d.p50)}" y2="${mid + 10}" stroke="#000" stroke-width="2"/>`)
    const clipped = d.p99 > max
    const labelX = clipped ? LABEL_W + PLOT_W + 4 : x(d.p99) + 6
    parts.push(`<text x="${labelX}" y="${mid + 4}" class="value">p50 ${d.p50.toFixed(2)}${clipped ? ` · p99 ${d.p99.toFixed(1)} →` : ''}</text>`)
    y += rowH
  }

  parts.push(axis(LABEL_W, y + 2, max, 'ms, all samples pooled (whiskers p1–p99, box p10–p90, dark p25–p75, line p50)'))
  return { svg: parts.join('\n'), height: y - y0 + 44 }
}

function bars (title: string, groups: Array<{ name: string, values: Record<string, number | undefined> }>, y0: number): { svg: string, height: number } {
  const labels = [...new Set(groups.flatMap(g => Object.keys(g.values)))]
  const max = niceMax(Math.max(...groups.flatMap(g => Object.values(g.values).filter((v): v is number => v != null && Number.isFinite(v)))))
  const barH = 12
  const parts: string[] = [`<text x="10" y="${y0 + 16}" class="title">${esc(title)}</text>`]
  let y = y0 + 30

  for (const g of groups) {
    parts.push(`<text x="${LABEL_W - 8}" y="${y + 10}" text-anchor="end" class="label" font-weight="bold">${esc(g.name)}</text>`)
    for (const label of labels) {
      const v = g.values[label]
      if (v == null || !Number.isFinite(v)) {
        continue
      }
      const w = (Math.min(v, max) / max) * PLOT_W
      parts.push(`<rect x="${LABEL_W}" y="${y}" width="${Math.max(1, w)}" height="${barH}" fill="${color(label)}"/>`)
      parts.push(`<text x="${LABEL_W + w + 4}" y="${y + barH - 2}" class="value">${esc(label)} ${v.toFixed(0)}</text>`)
      y += barH + 2
    }
    y += 8
  }

  parts.push(axis(LABEL_W, y + 2, max, 'MiB/s (median)'))
  return { svg: parts.join('\n'), height: y - y0 + 44 }
}

export function renderSvg (res: Results): string {
  const panels: string[] = []
  let y = 40

  const add = (p: { svg: string, height: number }): void => {
    panels.push(p.svg)
    y += p.height + 10
  }

  if (res.setup != null) {
    add(boxPlots('Raw connection setup (dial → MultiaddrConnection), ms', res.setup, y))
  }
  if (res.stack != null) {
    add(boxPlots('Full stack: dial + first ping (noise + yamux), ms', res.stack, y))
  }
  if (res.throughput != null) {
    const t = res.throughput
    add(bars('Throughput, MiB/s', [
      { name: 'raw up', values: Object.fromEntries(Object.entries(t.raw).map(([k, v]) => [k, v.up.median])) },
      { name: 'raw down', values: Object.fromEntries(Object.entries(t.raw).map(([k, v]) => [k, v.down.median])) },
      { name: 'full stack up', values: Object.fromEntries(Object.entries(t.stack).map(([k, v]) => [k, v.up.median])) },
      { name: 'full stack down', values: Object.fromEntries(Object.entries(t.stack).map(([k, v]) => [k, v.down.median])) }
    ], y))
  }

  const m = res.meta
  const header = `tolerant-ws benchmark · ${m.date.slice(0, 10)} · Node ${m.node} · ${m.cpus} cores · load ${m.loadBefore[0]} → ${m.loadAfter[0]}${m.quick ? ' · quick run' : ''}`

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.title{font-size:14px;font-weight:600}.label{font-size:12px}.value{font-size:11px;fill:#333}.tick{font-size:10px;fill:#666}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" font-size="15" font-weight="700">${esc(header)}</text>
${panels.join('\n')}
</svg>
`
}
