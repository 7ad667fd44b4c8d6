/**
 * Container-style port lists (`{name, containerPort, protocol}`), shared by Pod containers and
 * the Cluster's external hosts: names are unique within a list (as the API server requires); a
 * port/protocol pair declared twice is accepted with a notice, as the API server only warns.
 */
import type { ContainerPortModel } from '../model.js';
import type { Field } from './field.js';
import { ianaSvcName, quote } from './values.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

/** Tracks names and port/protocol pairs already declared within one pod or host. */
export class PortScope {
  private readonly names = new Map<string, string>();
  private readonly ports = new Map<string, string>();

  /**
   * Checks a port against those seen so far; reports duplicate names (error) and ports (notice) at
   * `f`. Names are unique within one port list (`list`: one container's), as the API server checks
   * them (validateContainerPorts): two containers may each name a port `metrics`, and a Service's
   * named targetPort then picks the first container's, as the endpoints controller does.
   */
  claim(f: Field, port: ContainerPortModel, owner: string, list = ''): boolean {
    let ok = true;
    if (port.name !== undefined) {
      const nameKey = `${list}\u0000${port.name}`;
      const prev = this.names.get(nameKey);
      if (prev !== undefined) {
        f.child('name').error(`duplicate port name ${quote(port.name)} (also ${prev})`);
        ok = false;
      } else {
        this.names.set(nameKey, `${owner}${f.path}`);
      }
    }
    const key = `${port.containerPort}/${port.protocol}`;
    const prev = this.ports.get(key);
    if (prev !== undefined) {
      // The API server accepts it with a warning (pkg/api/pod/warnings.go); one socket can hold the port.
      f.child('containerPort').notice(
        `duplicate port definition with ${prev} (the API server accepts it with a warning); one server listens on ${key}`,
      );
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
    if (!scope.claim(item, port, owner, `${owner}${parent.path}`)) ok = false;
    out.push(port);
  }
  return ok ? out : undefined;
}
