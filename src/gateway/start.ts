// One ingress gateway with what its process wires around it: its certificate and configuration
// from istiod, as a waypoint's (src/waypoint/start.ts joins the same way); run alone, from the
// scenario file and the CA on disk (src/cli/gateway.ts runs it as a process).
import type { Scenario, Workload } from '../mesh/model';
import { MeshState } from '../mesh/state';
import { loadOrCreateCa } from '../identity/ca-store';
import type { ControlPlaneLink, IstiodLink } from '../xds/bootstrap';
import { joinAsProxy } from '../waypoint/start';
import { IngressGateway } from './ingress-gateway';

export interface GatewayProcessOptions {
  readonly scenario: Scenario;
  readonly pod: Workload;
  readonly caDir: string;
  readonly istiod?: IstiodLink;
}

export interface GatewayProcess {
  readonly gateway: IngressGateway;
  stop(): Promise<void>;
}

export async function startGateway(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const { scenario, pod } = o;
  const state = new MeshState(scenario);
  let link: ControlPlaneLink | undefined;
  let gateway: IngressGateway;
  if (o.istiod) {
    const joined = await joinAsProxy(scenario, pod, state, o.caDir, o.istiod);
    link = joined.link;
    gateway = new IngressGateway({ scenario, pod, state, ca: link.ca, certificate: link.own, configVersion: joined.configVersion });
  } else {
    gateway = new IngressGateway({ scenario, pod, state, ca: await loadOrCreateCa(o.caDir, scenario.trustDomain) });
  }
  try {
    await gateway.start();
  } catch (err) {
    link?.stop();
    await gateway.stop();
    throw err;
  }
  return {
    gateway,
    stop: async () => {
      link?.stop();
      await gateway.stop();
    },
  };
}
