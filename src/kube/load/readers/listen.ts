/**
 * What a pod spec says about the ports its containers listen on beyond `containerPort`:
 *
 *   - the kubelet probes of each container (`livenessProbe`, `readinessProbe`, `startupProbe`),
 *     whose `httpGet`, `tcpSocket` and `grpc` actions connect to a port. The port is validated as
 *     the API server does (ValidatePortNumOrName: a number 1–65535 or an IANA service name; grpc a
 *     number) and resolved as the kubelet does (pkg/probe ResolveContainerPort: a number as is, a
 *     name looked up among the same container's ports by name alone, whatever their protocol). A
 *     name the container does not declare gets a notice: the kubelet cannot run that probe (it
 *     counts as failed), so nothing is inferred from it. `host` is kept: a probe to another host
 *     says nothing about this pod (see listeners.ts).
 *   - the annotation `podnet.dev/listen` on the pod (or on a workload's pod template):
 *     `"8080/TCP,53/UDP"`, comma-separated `<port>[/<protocol>]` entries, protocol TCP (default),
 *     UDP or SCTP, blanks around entries ignored, an empty value meaning "nothing". It states the
 *     pod's listeners outright: they replace everything inferred (declared ports included).
 *     A malformed value is an error at the annotation.
 */
import type { ProbeKind } from '../../model.js';
import type { Field } from '../field.js';
import { ianaSvcName, quote } from '../values.js';

/** The annotation stating a pod's listeners outright. */
export const LISTEN_ANNOTATION = 'podnet.dev/listen';

const PROBES: readonly ProbeKind[] = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** A port a container's probe connects to, resolved as the kubelet resolves it. */
export interface ProbePort {
  readonly container: string;
  readonly probe: ProbeKind;
  readonly action: 'httpGet' | 'tcpSocket' | 'grpc';
  readonly port: number;
  /** `host` of an httpGet or tcpSocket action (the kubelet dials the pod IP when it is absent). */
  readonly host: string | undefined;
}

/** One entry of the `podnet.dev/listen` annotation. */
export interface ListenEntry {
  readonly port: number;
  readonly protocol: (typeof PROTOCOLS)[number];
}

/**
 * The probe ports of container `c` (named `container`, declaring `ports`); undefined when a probe's
 * port is invalid (reported as the API server would refuse it).
 */
export function parseProbePorts(
  c: Field,
  container: string,
  ports: ReadonlyArray<{ readonly name: string | undefined; readonly containerPort: number }>,
): ProbePort[] | undefined {
  const out: ProbePort[] = [];
  let ok = true;
  for (const probe of PROBES) {
    const pf = c.child(probe);
    if (!pf.present || pf.raw() === null) continue;
    if (!pf.isMap) {
      pf.typeError('a probe (a mapping with one of exec, httpGet, tcpSocket, grpc)');
      ok = false;
      continue;
    }
    for (const action of ['httpGet', 'tcpSocket', 'grpc'] as const) {
      const af = pf.child(action);
      if (!af.present || af.raw() === null) continue;
      if (!af.isMap) {
        af.typeError(`a ${action} action (a mapping with port)`);
        ok = false;
        continue;
      }
      const portF = af.child('port');
      const given = action === 'grpc' ? grpcPort(portF) : portNumOrName(portF);
      if (given === undefined) {
        ok = false;
        continue;
      }
      let port: number | undefined;
      if (typeof given === 'number') port = given;
      else {
        port = ports.find((p) => p.name === given)?.containerPort;
        if (port === undefined) {
          const names = ports.flatMap((p) => (p.name !== undefined ? [quote(p.name)] : []));
          portF.notice(
            `container ${quote(container)} has no port named ${quote(given)} (${
              names.length > 0 ? `its named ports: ${names.join(', ')}` : 'it names no port'
            }): the kubelet cannot run this probe, and podnet infers no listener from it`,
          );
          continue;
        }
      }
      const hostF = af.child('host');
      const host = action === 'grpc' ? undefined : af.str('host');
      if (hostF.present && action !== 'grpc' && host === undefined) ok = false;
      out.push({ container, probe, action, port, host: host === '' ? undefined : host });
    }
  }
  return ok ? out : undefined;
}

/** An httpGet or tcpSocket port: a number 1–65535 or an IANA service name (ValidatePortNumOrName). */
function portNumOrName(f: Field): number | string | undefined {
  const expected = 'a port number 1–65535 or a container port name';
  if (!f.present) {
    f.missing(expected);
    return undefined;
  }
  const v = f.raw();
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    return f.typeError(expected);
  }
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) {
      f.error(`expected ${expected}, got ${quote(v)}: a quoted number is a (bad) port name; write ${v} without quotes`);
      return undefined;
    }
    const bad = ianaSvcName(v);
    if (bad === undefined) return v;
    return f.typeError(`${expected}, ${bad}`);
  }
  return f.typeError(expected);
}

/** A grpc action's port: a number 1–65535 (the field is an int32). */
function grpcPort(f: Field): number | undefined {
  if (!f.present) {
    f.missing('a port number 1–65535');
    return undefined;
  }
  const v = f.raw();
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  return f.typeError('a port number 1–65535 (a grpc probe names no port)');
}

/** The `podnet.dev/listen` annotation at `f`; undefined when malformed (reported at the annotation). */
export function parseListenAnnotation(f: Field): ListenEntry[] | undefined {
  const v = f.raw();
  const expected = `a list of listeners such as "8080/TCP,53/UDP" (<port>[/TCP|UDP|SCTP], comma-separated)`;
  if (typeof v !== 'string') return f.typeError(expected);
  if (v.trim() === '') return [];
  const out: ListenEntry[] = [];
  for (const raw of v.split(',')) {
    const entry = raw.trim();
    const m = /^(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(entry);
    const port = m !== null ? Number(m[1]) : Number.NaN;
    const protocol = m?.[2] ?? 'TCP';
    if (m === null || !(port >= 1 && port <= 65535)) {
      f.error(`expected ${expected}, got ${quote(entry)} in ${quote(v)}: a port is a number 1–65535`);
      return undefined;
    }
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
      f.error(`expected ${expected}, got ${quote(entry)} in ${quote(v)}: the protocol is TCP, UDP or SCTP`);
      return undefined;
    }
    const p = protocol as ListenEntry['protocol'];
    if (out.some((e) => e.port === port && e.protocol === p)) {
      f.error(`${port}/${p} is listed twice in ${quote(v)}`);
      return undefined;
    }
    out.push({ port, protocol: p });
  }
  return out;
}
