/**
 * Container-style port lists (`{name, containerPort, protocol}`), shared by Pod containers and
 * the Cluster's external hosts, with uniqueness of names and of port/protocol pairs.
 *
 * For a pod, as the API server validates it (validateContainerPorts): a port name is unique
 * within its container (two containers may each name a port `metrics`), and a port/protocol pair
 * declared twice in the pod is only a warning ("duplicate port definition", pkg/api/pod's
 * warnings), here a notice: the pod listens on it once. An external host's are both errors.
 */
import type { ContainerPortModel } from '../model.js';
import type { Field } from './field.js';
import { ianaSvcName, quote } from './values.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** Tracks names and port/protocol pairs already declared within one pod or host. */
export class PortScope {
  private readonly names = new Map<string, string>();
  private readonly ports = new Map<string, string>();

  /** `pod`: names unique per container (see nextContainer), a repeated port a notice; `host`: both errors. */
  constructor(private readonly kind: 'pod' | 'host' = 'host') {}

  /** Starts the next container of a pod: its port names may repeat another container's. */
  nextContainer(): void {
    this.names.clear();
  }

  /** Checks a port against those seen so far; reports duplicates at `f`. */
  claim(f: Field, port: ContainerPortModel, owner: string): boolean {
    let ok = true;
    if (port.name !== undefined) {
      const prev = this.names.get(port.name);
      if (prev !== undefined) {
        f.child('name').error(`duplicate port name ${quote(port.name)} (also ${prev})`);
        ok = false;
      } else {
        this.names.set(port.name, `${owner}${f.path}`);
      }
    }
    const key = `${port.containerPort}/${port.protocol}`;
    const prev = this.ports.get(key);
    if (prev !== undefined && this.kind === 'pod') {
      f.child('containerPort').notice(
        `port ${key} is declared twice (also ${prev}): a duplicate port definition, which the API server accepts with a warning; the pod listens on it once`,
      );
    } else if (prev !== undefined) {
      f.child('containerPort').error(
        `port ${key} is declared twice (also ${prev}); podnet runs one echo server per port`,
      );
      ok = false;
    } else {
      this.ports.set(key, `${owner}${f.path}`);
    }
    return ok;
  }
}

/**
 * Parses `path` of `parent` as a list of ports. Returns undefined when anything is wrong
 * (every problem reported), [] when the list is absent.
 */
export function parsePorts(
  parent: Field,
  path: string,
  scope: PortScope,
  owner = '',
): ContainerPortModel[] | undefined {
  const items = parent.list(path);
  if (items === undefined) return parent.child(path).present ? undefined : [];
  const out: ContainerPortModel[] = [];
  let ok = true;
  for (const item of items) {
    if (!item.isMap) {
      item.typeError('a mapping with containerPort and optionally name and protocol');
      ok = false;
      continue;
    }
    const nameField = item.child('name');
    const name = item.str('name', { check: ianaSvcName });
    const containerPort = item.int('containerPort', 1, 65535, { required: true });
    const protocol = item.oneOf('protocol', PROTOCOLS, { default: 'TCP' });
    if ((nameField.present && name === undefined) || containerPort === undefined || protocol === undefined) {
      ok = false;
      continue;
    }
    const port: ContainerPortModel = { name, containerPort, protocol };
    if (!scope.claim(item, port, owner)) ok = false;
    out.push(port);
  }
  return ok ? out : undefined;
}
