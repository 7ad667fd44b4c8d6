/** `-m physdev` (libxt_physdev, xt_physdev): bridge port tests, meaningful when br_netfilter runs the hooks. */
import { Fail, O0I, O1I, iface, inv, type ExtParser, type MatchExtension, type Tok } from '../extension.js';

/** `-m physdev`: bridge port tests (only meaningful with br_netfilter). */
export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly isIn?: { readonly invert: boolean };
  readonly in?: { readonly name: string; readonly invert: boolean };
  readonly isOut?: { readonly invert: boolean };
  readonly out?: { readonly name: string; readonly invert: boolean };
  readonly isBridged?: { readonly invert: boolean };
}

/** `--physdev-in/out NAME`, where a trailing `+` is a wildcard. */
function physdevName(name: string, pattern: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** The physdev module. */
export const physdev: MatchExtension<PhysdevMatch> = {
  name: 'physdev',
  parser(at: Tok): ExtParser<PhysdevMatch> {
    const m: {
      isIn?: { invert: boolean };
      in?: { name: string; invert: boolean };
      isOut?: { invert: boolean };
      out?: { name: string; invert: boolean };
      isBridged?: { invert: boolean };
    } = {};
    return {
      opts: {
        'physdev-in': O1I,
        'physdev-out': O1I,
        'physdev-is-in': O0I,
        'physdev-is-out': O0I,
        'physdev-is-bridged': O0I,
      },
      apply(o, [t], invert) {
        switch (o) {
          case 'physdev-in':
            m.in = { name: iface(t!).name, invert };
            break;
          case 'physdev-out':
            m.out = { name: iface(t!).name, invert };
            break;
          case 'physdev-is-in':
            m.isIn = { invert };
            break;
          case 'physdev-is-out':
            m.isOut = { invert };
            break;
          case 'physdev-is-bridged':
            m.isBridged = { invert };
            break;
        }
      },
      finish() {
        if (Object.keys(m).length === 0) throw new Fail(at.col, '-m physdev needs at least one option');
        return {
          kind: 'physdev',
          ...(m.isIn !== undefined ? { isIn: m.isIn } : {}),
          ...(m.in !== undefined ? { in: m.in } : {}),
          ...(m.isOut !== undefined ? { isOut: m.isOut } : {}),
          ...(m.out !== undefined ? { out: m.out } : {}),
          ...(m.isBridged !== undefined ? { isBridged: m.isBridged } : {}),
        };
      },
    };
  },
  print(m) {
    let s = ' -m physdev';
    if (m.isIn !== undefined) s += `${inv(m.isIn.invert)} --physdev-is-in`;
    if (m.in !== undefined) s += `${inv(m.in.invert)} --physdev-in ${m.in.name}`;
    if (m.isOut !== undefined) s += `${inv(m.isOut.invert)} --physdev-is-out`;
    if (m.out !== undefined) s += `${inv(m.out.invert)} --physdev-out ${m.out.name}`;
    if (m.isBridged !== undefined) s += `${inv(m.isBridged.invert)} --physdev-is-bridged`;
    return s;
  },
  evaluate(m, ctx) {
    const st = ctx.state;
    if (m.isBridged && st.bridged === m.isBridged.invert) return false;
    if (m.isIn && (st.physIn !== '') === m.isIn.invert) return false;
    if (m.isOut && (st.physOut !== '') === m.isOut.invert) return false;
    if (m.in && physdevName(st.physIn, m.in.name) === m.in.invert) return false;
    if (m.out && physdevName(st.physOut, m.out.name) === m.out.invert) return false;
    return true;
  },
};
