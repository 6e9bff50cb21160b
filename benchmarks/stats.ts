/**
 * Pure statistics for the benchmark: percentiles of one repeat, and the
 * median-with-spread of a figure over repeats. No I/O here.
 */

/** Percentile `p` (0–100) of `sorted` (ascending), nearest-rank with interpolation */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return NaN
  }

  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)

  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
}

export interface LatencySummary {
  n: number
  p50: number
  p90: number
  p99: number
  mean: number
}

export function summarize (samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)

  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean
  }
}

/** The median of repeats, with the smallest and largest repeat as its spread */
export interface Figure {
  median: number
  min: number
  max: number
  /** every repeat, in run order */
  runs: number[]
}

export function figure (runs: number[]): Figure {
  const finite = runs.filter(Number.isFinite)
  const sorted = [...finite].sort((a, b) => a - b)

  return {
    median: percentile(sorted, 50),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    runs
  }
}

/** Deciles plus p1/p99 of pooled samples, for the distribution chart */
export function distribution (samples: number[]): Record<string, number> {
  const sorted = [...samples].sort((a, b) => a - b)
  const out: Record<string, number> = {}

  for (const p of [1, 5, 10, 25, 50, 75, 90, 95, 99]) {
    out[`p${p}`] = percentile(sorted, p)
  }

  return out
}

/** `12.3 (11.9–12.8)` */
export function formatFigure (f: Figure | undefined, digits = 2): string {
  if (f == null || !Number.isFinite(f.median)) {
    return '–'
  }

  if (f.runs.length < 2 || f.min === f.max) {
    return fmt(f.median, digits)
  }

  return `${fmt(f.median, digits)} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`
}

export function fmt (value: number, digits = 2): string {
  if (!Number.isFinite(value)) {
    return '–'
  }

  const abs = Math.abs(value)
  let d = digits
  if (abs >= 1000) {
    d = 0
  } else if (abs >= 100) {
    d = Math.min(digits, 1)
  }

  return value.toFixed(d)
}
