// captures: a plain local port standing for one pod's connections to one destination, for
// clients that know no proxy (autocannon, browsers). DESIGN.md section 2, capture 2.
//   - { listen: 127.0.0.1:15101, source: <pod name>, target: productpage:9080 }
// listen may also be a bare port, on 127.0.0.1.
import type { PortCapture } from './model';
import { isScalar } from 'yaml';
import { HostPort, hostAddressProblem, parseHostPort, portProblem } from './addresses';
import { Entry, EntryReader } from './entry';
import { reservedPortProblem } from './reserved-ports';
import { Field } from './yaml-fields';

export const CAPTURE_FIELDS = ['listen', 'source', 'target'] as const;
export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1';

export function readCapture(item: Field): Entry<PortCapture> | undefined {
  const fields = item.map(CAPTURE_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const listenField = r.field('listen', 'address:port to listen on, e.g. 127.0.0.1:15101');
  return r.entry<PortCapture>({
    listen: listenField && readListen(listenField),
    source: r.text('source', 'the pod whose identity the connections carry'),
    target: r.text('target', 'the original destination as host:port, e.g. productpage:9080', (s) => problemOf(parseHostPort(s))),
  });
}

function readListen(field: Field): PortCapture['listen'] | undefined {
  const parsed = isScalar(field.node) && typeof field.node.value === 'number' ? barePort(field) : addressAndPort(field);
  if (parsed === undefined) return undefined;
  const bad = hostAddressProblem(parsed.host) ?? reservedPortProblem(parsed.port);
  return bad ? field.problem(bad) : { address: parsed.host, port: parsed.port };
}

function barePort(field: Field): HostPort | undefined {
  const port = field.integer();
  if (port === undefined) return undefined;
  const bad = portProblem(port);
  return bad ? field.problem(bad) : { host: DEFAULT_LISTEN_ADDRESS, port };
}

function addressAndPort(field: Field): HostPort | undefined {
  const text = field.nonEmptyString();
  if (text === undefined) return undefined;
  const parsed = parseHostPort(text);
  return typeof parsed === 'string' ? field.problem(parsed) : parsed;
}

function problemOf(parsed: HostPort | string): string | undefined {
  return typeof parsed === 'string' ? parsed : undefined;
}
