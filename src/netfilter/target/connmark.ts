/** `-j CONNMARK` (libxt_CONNMARK, xt_connmark): set the connection's mark, or copy between it and the packet's. */
import { Conn } from '../conntrack.js';
import { Fail, O0, O1, hex, num, type ExtParser, type TargetExtension, type Tok } from '../extension.js';
import { XMARK_OPTS, XmarkOptions } from './mark.js';

/** CONNMARK --set-xmark: ctmark = (ctmark & ~mask) ^ value. */
export interface ConnmarkSetTarget {
  readonly kind: 'CONNMARK';
  readonly mode: 'set';
  readonly value: number;
  readonly mask: number;
}

/** CONNMARK --save-mark / --restore-mark with their masks. */
export interface ConnmarkCopyTarget {
  readonly kind: 'CONNMARK';
  readonly mode: 'save' | 'restore';
  readonly nfmask: number;
  readonly ctmask: number;
}

/** `-j CONNMARK`. */
export type ConnmarkTarget = ConnmarkSetTarget | ConnmarkCopyTarget;

/** The CONNMARK module. */
export const connmark: TargetExtension<ConnmarkTarget> = {
  name: 'CONNMARK',
  verdict: 'continue',
  parser(at: Tok): ExtParser<ConnmarkTarget> {
    let save: 'save' | 'restore' | undefined;
    let nfmask = 0xffff_ffff;
    let ctmask = 0xffff_ffff;
    const one = (tok: Tok): void => {
      if (x.op !== undefined || save !== undefined) {
        throw new Fail(
          tok.col,
          'CONNMARK: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark, --save-mark, ' +
            '--restore-mark may be given',
        );
      }
    };
    const x: XmarkOptions = new XmarkOptions(one);
    return {
      opts: { ...XMARK_OPTS, 'save-mark': O0, 'restore-mark': O0, ctmask: O1, nfmask: O1, mask: O1 },
      apply(o, [t], _inv, tok) {
        if (x.apply(o, t, tok)) return;
        const u32 = (): number => num(t!, 0xffff_ffff, `--${o} value`);
        switch (o) {
          case 'save-mark':
          case 'restore-mark':
            one(tok);
            save = o === 'save-mark' ? 'save' : 'restore';
            break;
          case 'ctmask':
            ctmask = u32();
            break;
          case 'nfmask':
            nfmask = u32();
            break;
          case 'mask':
            ctmask = nfmask = u32();
            break;
        }
      },
      finish() {
        if (save !== undefined) return { kind: 'CONNMARK', mode: save, nfmask, ctmask };
        if (x.op === undefined)
          throw new Fail(at.col, 'CONNMARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required');
        return { kind: 'CONNMARK', mode: 'set', value: x.op.value, mask: x.op.mask };
      },
    };
  },
  print(t) {
    if (t.mode === 'set') return ` -j CONNMARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    return ` -j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`;
  },
  evaluate(t, ctx) {
    const c = ctx.pkt.ct;
    if (!(c instanceof Conn) || ctx.dry !== null) return;
    if (t.mode === 'set') c.mark = ((c.mark & ~t.mask) ^ t.value) >>> 0;
    else if (t.mode === 'save') c.mark = ((c.mark & ~t.ctmask) | (ctx.pkt.mark & t.nfmask)) >>> 0;
    else ctx.pkt.mark = ((ctx.pkt.mark & ~t.nfmask) | (c.mark & t.ctmask)) >>> 0;
  },
};
