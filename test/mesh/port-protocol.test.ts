// Istio's protocol selection: appProtocol first, then the port name's prefix; https and tls are
// opaque to a waypoint; anything else is detected.
import t from 'tap';
import { portProtocol } from '../../src/mesh/port-protocol';

t.test('appProtocol, then the name, else detect', async (t) => {
  const cases: [string, string | undefined, string][] = [
    ['http', undefined, 'http'],
    ['http-web', undefined, 'http'],
    ['HTTP2', undefined, 'http'],
    ['grpc-web', undefined, 'http'],
    ['grpc', undefined, 'http'],
    ['tcp-db', undefined, 'tcp'],
    ['https', undefined, 'tcp'],
    ['tls-passthrough', undefined, 'tcp'],
    ['mysql', undefined, 'tcp'],
    ['web', undefined, 'detect'],
    ['', undefined, 'detect'],
    ['httpx', undefined, 'detect'],
    ['database', 'mysql', 'tcp'],
    ['tcp', 'http', 'http'],
    ['web', 'kubernetes.io/h2c', 'http'],
    ['http', 'example.com/custom', 'http'],
  ];
  for (const [name, appProtocol, want] of cases) t.equal(portProtocol({ name, ...(appProtocol ? { appProtocol } : {}) }), want, `${name} ${appProtocol ?? ''}`);
});
