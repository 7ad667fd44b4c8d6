/** CronJob schedules: the 5-field syntax Kubernetes accepts, evaluated in UTC from 2024-01-01T00:00Z. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CRON_EPOCH_MS, cronJobName, cronTimes, parseCron, utcFields } from '../../src/kube/load/cron.js';

const MIN = 60_000_000_000;

function times(schedule: string, minutes: number, limit = 1000): number[] {
  const r = parseCron(schedule);
  if (!r.ok) throw new Error(r.why);
  return cronTimes(r.schedule, minutes * MIN, limit).map((t) => t / MIN);
}

describe('cron schedules', () => {
  test('time 0 is Monday 2024-01-01 00:00 UTC', () => {
    expect(new Date(CRON_EPOCH_MS).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(utcFields(CRON_EPOCH_MS / 60_000)).toEqual({ minute: 0, hour: 0, day: 1, month: 1, year: 2024, weekday: 1 });
  });

  test('UTC calendar fields agree with Date for any minute', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 * 365 * 1440 }), (m) => {
        const d = new Date(m * 60_000);
        expect(utcFields(m)).toEqual({
          minute: d.getUTCMinutes(),
          hour: d.getUTCHours(),
          day: d.getUTCDate(),
          month: d.getUTCMonth() + 1,
          year: d.getUTCFullYear(),
          weekday: d.getUTCDay(),
        });
      }),
    );
  });

  test('values, ranges, steps and lists', () => {
    expect(times('*/15 * * * *', 61)).toEqual([0, 15, 30, 45, 60]);
    expect(times('5 * * * *', 130)).toEqual([5, 65, 125]);
    expect(times('10-12 * * * *', 60)).toEqual([10, 11, 12]);
    expect(times('10-30/10 * * * *', 60)).toEqual([10, 20, 30]);
    expect(times('50/5 * * * *', 60)).toEqual([50, 55]);
    expect(times('1,3,5 * * * *', 60)).toEqual([1, 3, 5]);
    expect(times('0 1-2 * * *', 180)).toEqual([60, 120]);
  });

  test('macros, names, and the day-of-month / day-of-week rule', () => {
    expect(times('@hourly', 180)).toEqual([0, 60, 120]);
    expect(times('@daily', 3 * 1440)).toEqual([0, 1440, 2880]);
    expect(times('@weekly', 14 * 1440)).toEqual([6 * 1440, 13 * 1440]); // Sundays: Jan 7 and 14
    expect(times('0 0 * * SUN', 14 * 1440)).toEqual(times('0 0 * * 0', 14 * 1440));
    expect(times('0 0 1 FEB *', 40 * 1440)).toEqual([31 * 1440]);
    // both restricted: either matches (the 3rd, or any Friday)
    expect(times('0 0 3 * fri', 10 * 1440)).toEqual([2 * 1440, 4 * 1440]);
    // one of them a star: both must match
    expect(times('0 0 3 * *', 10 * 1440)).toEqual([2 * 1440]);
    expect(times('0 0 ? * 5', 10 * 1440)).toEqual([4 * 1440]);
  });

  test('errors say what is wrong', () => {
    const why = (s: string): string => {
      const r = parseCron(s);
      return r.ok ? 'ok' : r.why;
    };
    expect(why('* * * *')).toBe('expected 5 fields (minute hour day-of-month month day-of-week), got 4');
    expect(why('60 * * * *')).toBe('minute "60" is outside 0–59');
    expect(why('* * * * 7')).toBe('day of week "7" is outside 0–6');
    expect(why('*/0 * * * *')).toBe('minute step "0" is not a positive number');
    expect(why('5-1 * * * *')).toBe('minute range "5-1" ends before it starts');
    expect(why('* * * JANUARY *')).toBe('month "JANUARY" is not a number or name');
    expect(why('CRON_TZ=UTC * * * * *')).toContain('use spec.timeZone');
    expect(why('@every soon')).toBe('@every needs a duration such as 1h30m or 90s, got "soon"');
    // robfig's descriptors are case-sensitive: the API server refuses @Daily
    expect(why('@Daily')).toContain('unknown macro');
  });

  test('what robfig ParseStandard (and so the API server) accepts: @every <duration>, "?" in any field', () => {
    // @every fires every duration after the CronJob's creation (time 0), not at 0
    expect(times('@every 1h30m', 400)).toEqual([90, 180, 270, 360]);
    expect(times('@every 90s', 5)).toEqual([1.5, 3, 4.5]);
    // whole seconds, at least one; runs named by minute: one Job per minute
    expect(times('@every 20s', 2)).toEqual([20 / 60, 1]);
    expect(times('? * * * *', 3)).toEqual([0, 1, 2]);
  });

  test('a run limit and Job names in Unix minutes', () => {
    expect(times('* * * * *', 1000, 100)).toHaveLength(100);
    expect(cronJobName('backup', 0)).toBe('backup-28401120');
    expect(cronJobName('backup', 2 * MIN)).toBe('backup-28401122');
  });
});
