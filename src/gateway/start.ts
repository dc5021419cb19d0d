// One ingress gateway with what its process wires around it: its certificate and configuration
// from istiod, as a waypoint's (src/waypoint/start.ts joins the same way); run alone, from the
// scenario file and the CA on disk (src/cli/gateway.ts runs it as a process).
import { startProxy, WaypointProcessOptions } from '../waypoint/start';
import { IngressGateway } from './ingress-gateway';

/** The same as a waypoint's: the scenario, its pod, the CA directory, and istiod when there is one. */
export type GatewayProcessOptions = WaypointProcessOptions;

export interface GatewayProcess {
  readonly gateway: IngressGateway;
  stop(): Promise<void>;
}

export async function startGateway(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const { proxy, stop } = await startProxy(o, (parts) => new IngressGateway(parts));
  return { gateway: proxy, stop };
}
