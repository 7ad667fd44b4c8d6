/**
 * CronJob schedules: the standard 5-field cron syntax as Kubernetes reads it (robfig/cron v3
 * ParseStandard), evaluated in UTC against podnet's fixed epoch.
 *
 * Supported: five fields `minute hour day-of-month month day-of-week` (0–59, 0–23, 1–31, 1–12 or
 * JAN–DEC, 0–6 or SUN–SAT, names case-insensitive); in each field `*`, a value, a range `a-b`,
 * a step `*\/n`, `a-b/n` or `a/n` (= a-max/n), and comma-separated lists of these; `?` as `*`
 * in any field (as robfig reads it); the macros @yearly (@annually), @monthly, @weekly, @daily
 * (@midnight) and @hourly, case-sensitive as robfig reads them. When both day fields are
 * restricted a day matches if either matches (cron's rule); when one of them is `*` or `?` both
 * must. Not supported, as in Kubernetes: seconds, `L`, `W`, `#` and TZ=/CRON_TZ= prefixes (use
 * spec.timeZone). `@every <Go duration>` (robfig's ConstantDelaySchedule, which ParseStandard
 * accepts and the API server with it) fires every duration (whole seconds, at least 1 s) after
 * the CronJob's creation at time 0.
 *
 * Time 0 of a scenario is CRON_EPOCH, 2024-01-01T00:00:00Z (a Monday, midnight), so `0 * * * *`
 * first fires at 0 s and `30 2 * * *` at 2 h 30 min.
 */
import type { Nanos } from '../../sim/time.js';
import { NS_PER_S } from '../../sim/time.js';

/** Scenario time 0, in Unix milliseconds: 2024-01-01T00:00:00Z. */
export const CRON_EPOCH_MS = 1_704_067_200_000;

const NS_PER_MIN = 60 * NS_PER_S;
const MAX_MINUTES = Math.floor(Number.MAX_SAFE_INTEGER / NS_PER_MIN);

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed schedule: the allowed values of each field, and whether each day field is a star. */
export interface CronSchedule {
  readonly text: string;
  readonly sets: readonly ReadonlySet<number>[];
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /** `@every`: the constant delay (ns) between runs; the sets are then unused. */
  readonly every?: Nanos | undefined;
}

export type CronParse =
  | { readonly ok: true; readonly schedule: CronSchedule }
  | { readonly ok: false; readonly why: string };

function parseValue(text: string, f: FieldSpec): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (i < 0) return undefined;
  return f.min + i;
}

function parseField(text: string, f: FieldSpec): { set: Set<number>; star: boolean } | string {
  const set = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [rangeText = '', stepText, extra] = part.split('/');
    if (extra !== undefined) return `${f.name} ${JSON.stringify(part)} has more than one "/"`;
    const [lowText = '', highText, extra2] = rangeText.split('-');
    if (extra2 !== undefined) return `${f.name} ${JSON.stringify(part)} is not a range a-b`;
    let low: number;
    let high: number;
    let isStar = false;
    if (lowText === '*' || lowText === '?') {
      if (highText !== undefined) return `${f.name} ${JSON.stringify(part)}: "*" cannot start a range`;
      low = f.min;
      high = f.max;
      isStar = true;
    } else {
      const l = parseValue(lowText, f);
      if (l === undefined)
        return `${f.name} ${JSON.stringify(lowText)} is not a number${f.names !== undefined ? ' or name' : ''}`;
      low = l;
      if (highText !== undefined) {
        const h = parseValue(highText, f);
        if (h === undefined)
          return `${f.name} ${JSON.stringify(highText)} is not a number${f.names !== undefined ? ' or name' : ''}`;
        high = h;
      } else high = stepText !== undefined ? f.max : low;
    }
    if (low < f.min || high > f.max) return `${f.name} ${JSON.stringify(part)} is outside ${f.min}–${f.max}`;
    if (low > high) return `${f.name} range ${JSON.stringify(part)} ends before it starts`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        return `${f.name} step ${JSON.stringify(stepText)} is not a positive number`;
      step = Number(stepText);
    }
    if (isStar && step === 1) star = true;
    for (let v = low; v <= high; v += step) set.add(v);
  }
  return { set, star };
}

const GO_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A Go duration (time.ParseDuration: `1h30m`, `90s`, `1.5h`) in ns; undefined when malformed or negative. */
function goDuration(text: string): Nanos | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (GO_UNITS[m[2] ?? ''] ?? Number.NaN);
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** Parses a schedule; `why` says what is wrong otherwise. */
export function parseCron(text: string): CronParse {
  const trimmed = text.trim();
  if (/^(CRON_)?TZ=/.test(trimmed))
    return { ok: false, why: 'a TZ= or CRON_TZ= prefix is not allowed in a CronJob schedule; use spec.timeZone' };
  // robfig's descriptors are case-sensitive, "@every " with one space, then time.ParseDuration
  if (trimmed.startsWith('@every ')) {
    const d = goDuration(trimmed.slice(7));
    if (d === undefined)
      return {
        ok: false,
        why: `@every needs a duration such as 1h30m or 90s, got ${JSON.stringify(trimmed.slice(7))}`,
      };
    // robfig's Every: whole seconds, at least one
    const every = Math.max(NS_PER_S, d - (d % NS_PER_S));
    return { ok: true, schedule: { text: trimmed, sets: [], domStar: true, dowStar: true, every } };
  }
  if (trimmed.startsWith('@')) {
    const m = MACROS[trimmed];
    if (m === undefined)
      return {
        ok: false,
        why: `unknown macro ${JSON.stringify(trimmed)} (supported: ${Object.keys(MACROS).join(', ')}, @every <duration>)`,
      };
    return parseCron(m);
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5)
    return {
      ok: false,
      why: `expected 5 fields (minute hour day-of-month month day-of-week), got ${trimmed === '' ? 0 : parts.length}`,
    };
  const sets: Array<Set<number>> = [];
  const stars: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i] as FieldSpec;
    const r = parseField(parts[i] ?? '', f);
    if (typeof r === 'string') return { ok: false, why: r };
    sets.push(r.set);
    stars.push(r.star);
  }
  return { ok: true, schedule: { text: trimmed, sets, domStar: stars[2] === true, dowStar: stars[4] === true } };
}

/** The UTC calendar fields of Unix minute `m` (proleptic Gregorian; H. Hinnant's civil_from_days). */
export function utcFields(unixMinute: number): {
  minute: number;
  hour: number;
  day: number;
  month: number;
  year: number;
  weekday: number;
} {
  const days = Math.floor(unixMinute / 1440);
  const inDay = unixMinute - days * 1440;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const weekday = (((days + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  return { minute: inDay % 60, hour: Math.floor(inDay / 60), day, month, year, weekday };
}

/** Whether the schedule fires at Unix minute `m` (UTC). */
function firesAt(s: CronSchedule, unixMinute: number): boolean {
  const d = utcFields(unixMinute);
  const [min, hour, dom, mon, dow] = s.sets as [
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
    ReadonlySet<number>,
  ];
  if (!min.has(d.minute) || !hour.has(d.hour) || !mon.has(d.month)) return false;
  const domOk = dom.has(d.day);
  const dowOk = dow.has(d.weekday);
  return s.domStar || s.dowStar ? domOk && dowOk : domOk || dowOk;
}

/**
 * The scenario times (ns) at which the schedule fires, from 0 up to but excluding `end` (a run at
 * time 0 is included even when `end` is 0), at most `limit` of them.
 */
export function cronTimes(s: CronSchedule, end: Nanos, limit: number): Nanos[] {
  const out: Nanos[] = [];
  if (s.every !== undefined) {
    // Runs are named by their minute (cronJobName): a second run in one minute finds its Job
    // already there and makes none, as the controller's create fails with AlreadyExists.
    let lastMinute = -1;
    for (let t = s.every; t < end && t <= Number.MAX_SAFE_INTEGER && out.length < limit; t += s.every) {
      const minute = Math.floor(t / NS_PER_MIN);
      if (minute === lastMinute) continue;
      lastMinute = minute;
      out.push(t);
    }
    return out;
  }
  // Virtual time is exact to 2^53 ns (about 104 days); schedules are not followed further.
  const minutes = Math.min(MAX_MINUTES, Math.max(1, Math.ceil(end / NS_PER_MIN)));
  for (let m = 0; m < minutes && out.length < limit; m++) {
    if (firesAt(s, CRON_EPOCH_MS / 60_000 + m)) out.push(m * NS_PER_MIN);
  }
  return out;
}

/** The name the CronJob controller gives the Job of a run: `<cronjob>-<Unix minutes of the scheduled time>`. */
export function cronJobName(cronJob: string, t: Nanos): string {
  return `${cronJob}-${Math.floor((CRON_EPOCH_MS + t / 1_000_000) / 60_000)}`;
}
