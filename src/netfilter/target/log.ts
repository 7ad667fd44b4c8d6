/** `-j LOG` (libipt_LOG, nf_log): non-terminating; podnet writes it to the trace instead of the kernel log. */
import { Fail, O0, O1, parseNum, saveString, type ExtParser, type TargetExtension } from '../extension.js';

/** LOG: non-terminating; podnet records it in traces and otherwise ignores it. */
export interface LogTarget {
  readonly kind: 'LOG';
  readonly prefix: string;
  /** Syslog level 0..7 (default 4, warning). */
  readonly level: number;
  readonly tcpSequence: boolean;
  readonly tcpOptions: boolean;
  readonly ipOptions: boolean;
  readonly uid: boolean;
  readonly macDecode: boolean;
}

const LOG_LEVELS: Readonly<Record<string, number>> = {
  emerg: 0,
  panic: 0,
  alert: 1,
  crit: 2,
  error: 3,
  err: 3,
  warning: 4,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** The LOG module. */
export const log: TargetExtension<LogTarget> = {
  name: 'LOG',
  verdict: 'continue',
  parser(): ExtParser<LogTarget> {
    let prefix = '';
    let level = 4;
    const flags = { tcpSequence: false, tcpOptions: false, ipOptions: false, uid: false, macDecode: false };
    return {
      opts: {
        'log-prefix': O1,
        'log-level': O1,
        'log-tcp-sequence': O0,
        'log-tcp-options': O0,
        'log-ip-options': O0,
        'log-uid': O0,
        'log-macdecode': O0,
      },
      apply(o, [t]) {
        switch (o) {
          case 'log-prefix':
            if (t!.text.length === 0 || t!.text.length > 29)
              throw new Fail(t!.col, 'LOG: --log-prefix takes 1..29 characters');
            prefix = t!.text;
            break;
          case 'log-level': {
            const n = parseNum(t!.text, 7) ?? LOG_LEVELS[t!.text];
            if (n === undefined) throw new Fail(t!.col, `log level "${t!.text}" unknown`);
            level = n;
            break;
          }
          case 'log-tcp-sequence':
            flags.tcpSequence = true;
            break;
          case 'log-tcp-options':
            flags.tcpOptions = true;
            break;
          case 'log-ip-options':
            flags.ipOptions = true;
            break;
          case 'log-uid':
            flags.uid = true;
            break;
          case 'log-macdecode':
            flags.macDecode = true;
            break;
        }
      },
      finish() {
        return { kind: 'LOG', prefix, level, ...flags };
      },
    };
  },
  print(t) {
    let s = ' -j LOG';
    if (t.prefix !== '') s += ` --log-prefix${saveString(t.prefix)}`;
    if (t.level !== 4) s += ` --log-level ${t.level}`;
    if (t.tcpSequence) s += ' --log-tcp-sequence';
    if (t.tcpOptions) s += ' --log-tcp-options';
    if (t.ipOptions) s += ' --log-ip-options';
    if (t.uid) s += ' --log-uid';
    if (t.macDecode) s += ' --log-macdecode';
    return s;
  },
  // also while exploring paths: the LOG line is part of what the path shows
  evaluate(t, ctx, site) {
    if (ctx.tracing) ctx.event({ kind: 'nf', what: 'log', prefix: t.prefix, table: ctx.table, chain: site.chain.name });
  },
};
