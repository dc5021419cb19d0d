// Which protocol Istio takes a Service port to carry (istio.io "Protocol Selection"): the port's
// appProtocol when set, else its name read as <protocol>[-<suffix>], case-insensitively. HTTP
// kinds get the waypoint's HTTP filter chain; the opaque ones are relayed as TCP; anything else
// is detected from the first bytes.
import type { ServicePort } from './model';

export type PortProtocol = 'http' | 'tcp' | 'detect';

/** Istio's protocol names, and how a waypoint handles each. */
const PROTOCOLS: Readonly<Record<string, Exclude<PortProtocol, 'detect'>>> = {
  http: 'http',
  http2: 'http',
  grpc: 'http',
  'grpc-web': 'http',
  // Kubernetes' own name for HTTP/2 over cleartext, which Istio reads as http2.
  'kubernetes.io/h2c': 'http',
  // A waypoint does not decrypt TLS: https is opaque, as tls is.
  https: 'tcp',
  tls: 'tcp',
  tcp: 'tcp',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
};

/** The protocol a port name declares: the name itself, or the part before its first '-'. */
function fromName(name: string): Exclude<PortProtocol, 'detect'> | undefined {
  const n = name.toLowerCase();
  // grpc-web contains a '-': try the whole name first.
  return PROTOCOLS[n] ?? PROTOCOLS[n.split('-')[0]];
}

export function portProtocol(port: Pick<ServicePort, 'name' | 'appProtocol'>): PortProtocol {
  if (port.appProtocol !== undefined) {
    const p = PROTOCOLS[port.appProtocol.toLowerCase()];
    if (p) return p;
  }
  return fromName(port.name) ?? 'detect';
}
