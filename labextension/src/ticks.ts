/**
 * Axis ticks a person can read, for any range of values: the panel's half of the one
 * algorithm the notebook's charts use too (src/jupyter_mlops/widgets/ticks.py; both are
 * checked against the cases in tests/chart_ticks_cases.json).
 *
 * Linear axes get steps of 1, 2 or 5 times a power of ten, labelled with as many
 * decimals as the step needs (0.89861 to 0.89867 reads 0.89860, 0.89862, ..., never
 * six times 0.8986); very large or small values read 1.5e-7. Positive values spanning
 * more than two decades get a log axis with a tick at each power of ten. One value gets
 * one tick that says it exactly. No DOM and no imports: node runs it as it is.
 *
 * `axisTicks(1e-4, 10).labels` -> ['1e-4', '0.001', '0.01', '0.1', '1', '10']
 */

/** Positive values whose largest is more than this many times their smallest get a log axis. */
export const LOG_RATIO = 100;

const MANTISSAS: [number, number][] = [
  [1, 1.5],
  [2, 3],
  [5, 7],
  [10, Infinity]
];
const MAX_TICKS = 60;

export interface ITicks {
  /** The domain to draw, after growing it to the ticks around the values (`outward`). */
  low: number;
  high: number;
  values: number[];
  labels: string[];
  /** Positions are shares of log10 between `low` and `high`. */
  log: boolean;
}

export interface ITickOptions {
  /** About this many ticks on a linear axis (5). */
  count?: number;
  /** null/undefined: decide (a log axis for positive values over two decades); true/false: ask. */
  log?: boolean | null;
  /** Ticks on whole numbers only (steps of a training loop). */
  whole?: boolean;
  /** Grow the domain to the ticks around the values (true), or keep ticks within it. */
  outward?: boolean;
}

/** 10 ** exponent, parsed from text so it is the correctly rounded double everywhere. */
function power(exponent: number): number {
  return Number(`1e${exponent}`);
}

/** floor(log10(|value|)) read from the value's scientific notation (no log rounding). */
function exponentOf(value: number): number {
  return parseInt(Math.abs(value).toExponential(12).split('e')[1], 10);
}

/** `value` as 1.5e-7 with `digits` after the point, trailing zeros dropped. */
function scientific(value: number, digits: number): string {
  let [mantissa, exponent] = value.toExponential(digits).split('e');
  if (mantissa.includes('.')) {
    mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
  }
  const shown = parseInt(exponent, 10);
  return `${mantissa}e${shown < 0 ? '-' : '+'}${Math.abs(shown)}`;
}

function fixed(value: number, decimals: number): string {
  return (value + 0).toFixed(decimals);
}

/**
 * The step as [mantissa, exponent]: the 1, 2 or 5 x 10^k nearest span / (count - 1)
 * (1 below 1.5, 2 below 3, 5 below 7); at least 1 when `whole`.
 */
function niceStep(span: number, count: number, whole: boolean): [number, number] {
  const rough = span / Math.max(count - 1, 1);
  let exponent = exponentOf(rough);
  const share = rough / power(exponent);
  let mantissa = MANTISSAS.find(([, below]) => share < below)?.[0] ?? 10;
  if (mantissa === 10) {
    mantissa = 1;
    exponent += 1;
  }
  if (whole && exponent < 0) {
    mantissa = 1;
    exponent = 0;
  }
  return [mantissa, exponent];
}

/** k x mantissa x 10^exponent, rounded once (division by an exact power of ten). */
function multiple(k: number, mantissa: number, exponent: number): number {
  return exponent < 0 ? (k * mantissa) / power(-exponent) : k * mantissa * power(exponent);
}

/** Labels of ticks 10^exponent (times 1, 2 or 5) apart. */
export function linearLabels(values: number[], exponent: number): string[] {
  const largest = Math.max(0, ...values.map(Math.abs));
  if (largest >= 1e6 || (largest > 0 && largest < 1e-3)) {
    return values.map(v => (v === 0 ? '0' : scientific(v, Math.max(0, exponentOf(v) - exponent))));
  }
  return values.map(v => fixed(v, Math.max(0, -exponent)));
}

/** One value said exactly enough (six significant digits). */
export function exactLabel(value: number): string {
  if (value === 0) {
    return '0';
  }
  const largest = Math.abs(value);
  if (largest >= 1e6 || largest < 1e-3) {
    return scientific(value, 5);
  }
  const text = fixed(value, Math.max(0, 5 - exponentOf(value)));
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

function logLabel(exponent: number): string {
  if (exponent >= -3 && exponent < 0) {
    return fixed(power(exponent), -exponent);
  }
  if (exponent >= 0 && exponent <= 5) {
    return String(power(exponent));
  }
  return `1e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
}

function logTicks(low: number, high: number, count: number, outward: boolean): ITicks | null {
  const first = exponentOf(low);
  let last = exponentOf(high);
  if (power(last) < high) {
    last += 1;
  }
  const stride = Math.max(1, Math.ceil((last - first) / (count + 3)));
  let exponents: number[] = [];
  for (let e = first; e <= last; e += stride) {
    exponents.push(e);
  }
  if (!outward) {
    exponents = exponents.filter(e => low <= power(e) && power(e) <= high);
  }
  if (exponents.length < 2) {
    return null;
  }
  return {
    low: outward ? power(first) : low,
    high: outward ? power(exponents[exponents.length - 1]) : high,
    values: exponents.map(power),
    labels: exponents.map(logLabel),
    log: true
  };
}

/**
 * Ticks for values from `low` to `high` (see ITickOptions).
 *
 * `axisTicks(0, 29, {whole: true}).values` -> [0, 10, 20, 30]
 */
export function axisTicks(low: number, high: number, options: ITickOptions = {}): ITicks {
  const count = options.count ?? 5;
  const whole = options.whole ?? false;
  const outward = options.outward ?? true;
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    return { low: 0, high: 1, values: [], labels: [], log: false };
  }
  if (low > high) {
    [low, high] = [high, low];
  }
  if (high - low <= Math.abs(high) * 1e-12) {
    const pad = Math.abs(low) * 0.05 || 1;
    return {
      low: low - pad,
      high: high + pad,
      values: [low],
      labels: [exactLabel(low)],
      log: false
    };
  }
  const log = options.log ?? null;
  const wantsLog = log === null ? low > 0 && high / low > LOG_RATIO : log && low > 0;
  if (wantsLog && !whole) {
    const found = logTicks(low, high, count, outward);
    if (found !== null) {
      return found;
    }
  }
  let [mantissa, exponent] = niceStep(high - low, count, whole);
  let first: number;
  let last: number;
  for (;;) {
    const step = multiple(1, mantissa, exponent);
    first = outward ? Math.floor(low / step + 1e-9) : Math.ceil(low / step - 1e-9);
    last = outward ? Math.ceil(high / step - 1e-9) : Math.floor(high / step + 1e-9);
    if (last > first || outward || (whole && exponent === 0 && mantissa === 1)) {
      break;
    }
    // Fewer than two ticks fit between fixed ends: the next smaller step.
    [mantissa, exponent] =
      mantissa === 5 ? [2, exponent] : mantissa === 2 ? [1, exponent] : [5, exponent - 1];
  }
  last = Math.min(last, first + MAX_TICKS);
  const values: number[] = [];
  for (let k = first; k <= last; k++) {
    values.push(multiple(k, mantissa, exponent));
  }
  if (values.length === 0) {
    return { low, high, values, labels: [], log: false };
  }
  return {
    low: outward ? values[0] : low,
    high: outward ? values[values.length - 1] : high,
    values,
    labels: linearLabels(values, exponent),
    log: false
  };
}

/** Where `value` sits on an axis, from 0 (`low`) to 1 (`high`). */
export function tickPosition(ticks: ITicks, value: number): number {
  if (ticks.log) {
    const [low, high] = [Math.log10(ticks.low), Math.log10(ticks.high)];
    return high > low ? (Math.log10(value) - low) / (high - low) : 0.5;
  }
  return ticks.high > ticks.low ? (value - ticks.low) / (ticks.high - ticks.low) : 0.5;
}

/** The smallest and largest finite value, or null (NaN, infinities and null are gaps). */
export function finiteRange(values: (number | null | undefined)[]): [number, number] | null {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : null;
}
