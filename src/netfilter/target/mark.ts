/** `-j MARK` (libxt_MARK, xt_MARK): set bits of the packet mark. */
import { Fail, O1, hex, markValue, num, type ExtParser, type TargetExtension, type Tok } from '../extension.js';

/** MARK, normalised like iptables does: mark = (mark & ~mask) ^ value. */
export interface MarkTarget {
  readonly kind: 'MARK';
  readonly value: number;
  readonly mask: number;
}

/**
 * The `--set-xmark`/`--set-mark`/`--and-mark`/`--or-mark`/`--xor-mark` options of MARK and
 * CONNMARK, normalised to the kernel's (value, mask) pair; `apply` returns false for others.
 */
export class XmarkOptions {
  op: { value: number; mask: number } | undefined;

  constructor(private readonly conflict: (at: Tok) => void) {}

  apply(o: string, t: Tok | undefined, at: Tok): boolean {
    const u32 = (): number => num(t!, 0xffff_ffff, `--${o} value`);
    switch (o) {
      case 'set-xmark':
        this.conflict(at);
        this.op = markValue(t!);
        return true;
      case 'set-mark': {
        this.conflict(at);
        const v = markValue(t!);
        this.op = { value: v.value, mask: (v.value | v.mask) >>> 0 };
        return true;
      }
      case 'and-mark':
        this.conflict(at);
        this.op = { value: 0, mask: ~u32() >>> 0 };
        return true;
      case 'or-mark': {
        this.conflict(at);
        const v = u32();
        this.op = { value: v, mask: v };
        return true;
      }
      case 'xor-mark':
        this.conflict(at);
        this.op = { value: u32(), mask: 0 };
        return true;
      default:
        return false;
    }
  }
}

/** The options of {@link XmarkOptions}. */
export const XMARK_OPTS = { 'set-xmark': O1, 'set-mark': O1, 'and-mark': O1, 'or-mark': O1, 'xor-mark': O1 } as const;

/** The MARK module. */
export const markTarget: TargetExtension<MarkTarget> = {
  name: 'MARK',
  verdict: 'continue',
  parser(at: Tok): ExtParser<MarkTarget> {
    const x: XmarkOptions = new XmarkOptions((tok) => {
      if (x.op !== undefined)
        throw new Fail(
          tok.col,
          'MARK: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark may be given',
        );
    });
    return {
      opts: XMARK_OPTS,
      apply(o, [t], _inv, tok) {
        x.apply(o, t, tok);
      },
      finish() {
        if (x.op === undefined)
          throw new Fail(at.col, 'MARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required');
        return { kind: 'MARK', value: x.op.value, mask: x.op.mask };
      },
    };
  },
  print: (t) => ` -j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`,
  evaluate(t, ctx) {
    ctx.mark = ((ctx.mark & ~t.mask) ^ t.value) >>> 0;
    if (ctx.dry === null) ctx.pkt.mark = ctx.mark;
  },
};
