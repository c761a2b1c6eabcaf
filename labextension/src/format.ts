/**
 * How values read in the panel: numbers, times, durations, ids.
 */
import type { Timestamp, Value } from './types';

/** Shown for a missing value. */
export const MISSING = '—';

/**
 * A metric value with four significant digits: 0.91234 -> "0.9123",
 * 1234567 -> "1.235e+6", null -> "—".
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return MISSING;
  }
  if (!Number.isFinite(value)) {
    return String(value);
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e6) {
    return String(value);
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-3)) {
    return value.toExponential(3).replace(/\.?0+e/, 'e');
  }
  return String(Number(value.toPrecision(4)));
}

/** A parameter or tag value exactly as recorded (strings unquoted, lists and dicts as JSON). */
export function formatScalar(value: Value | undefined): string {
  if (value === null || value === undefined) {
    return MISSING;
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A count with thousands separators: 12345 -> "12,345". */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? MISSING : value.toLocaleString('en-US');
}

/** Seconds as people say them: 0.42 -> "0.42 s", 185 -> "3 min 5 s", 7300 -> "2 h 1 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return MISSING;
  }
  if (seconds < 10) {
    return `${Number(seconds.toPrecision(2))} s`;
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  const totalSeconds = Math.round(seconds);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const rest = totalSeconds % 60;
  return hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min ${rest} s`;
}

/** A server time (ISO text or epoch seconds) as a Date, or null. */
export function parseTime(value: Timestamp | undefined): Date | null {
  if (value === null || value === undefined || value === '') {
    return null;
  }
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** A time in local time, "2024-05-01 14:03:09". */
export function formatTime(value: Timestamp | undefined): string {
  const date = parseTime(value);
  if (!date) {
    return value === null || value === undefined || value === '' ? MISSING : String(value);
  }
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** The first characters of an id or a hash, enough to tell them apart on screen. */
export function shortId(id: string | null | undefined, length = 8): string {
  return id ? id.slice(0, length) : MISSING;
}

/**
 * A time as short as it can be where space is scarce: "14:03" today, "05-01 14:03"
 * this year, "2023-05-01" before (the full time goes in a tooltip).
 */
export function formatShortTime(value: Timestamp | undefined, now: Date = new Date()): string {
  const date = parseTime(value);
  if (!date) {
    return formatTime(value);
  }
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === now.toDateString()) {
    return time;
  }
  const day = `${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  return date.getFullYear() === now.getFullYear()
    ? `${day} ${time}`
    : `${date.getFullYear()}-${day}`;
}

/** A file size for people: `812 B`, `14.2 KiB`, `3.1 MiB`. */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) {
    return MISSING;
  }
  if (size < 1024) {
    return `${size} B`;
  }
  let value = size;
  for (const unit of ['KiB', 'MiB', 'GiB']) {
    value /= 1024;
    if (value < 1024 || unit === 'GiB') {
      return `${value.toFixed(1)} ${unit}`;
    }
  }
  return `${size} B`;
}
