// A Prometheus scrape configuration for a running mesh (`hbone-sim x prometheus-config`): every
// process that serves Istio's metrics, on the host addresses Prometheus reaches them at, with the
// job names of Istio's own Prometheus setup, so the queries of Istio's dashboards work as written:
//   istiod       :15014/metrics           the control plane (pilot_xds_pushes, ...)
//   ztunnel      :15020/metrics           one per node: istio_tcp_* (reporter source/destination)
//   envoy-stats  :15020/stats/prometheus  waypoints and ingress gateways: istio_requests_* ...
// Static targets rather than kubernetes_sd: there is no Kubernetes API for Prometheus to watch;
// each target carries the labels a pod's would (namespace, pod, app), so relabelled queries read
// the same.
import type { Scenario } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { isProxyPod } from '../mesh/app-kinds';
import { istiodIp, ISTIO_SYSTEM } from '../mesh/control-plane';
import { PORT_ISTIOD_MONITORING, PORT_METRICS } from '../mesh/ports';

/** Prometheus's own default; a test or a learner watching live may want 1s or 5s. */
export const DEFAULT_SCRAPE_INTERVAL = '15s';
const DURATION_RE = /^[1-9]\d*(ms|s|m)$/;

export interface ScrapeTarget {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface ScrapeJob {
  readonly job_name: string;
  readonly metrics_path: string;
  readonly static_configs: readonly ScrapeTarget[];
}

export interface PrometheusConfig {
  readonly global: { readonly scrape_interval: string; readonly evaluation_interval: string };
  readonly scrape_configs: readonly ScrapeJob[];
}

/** Whether `interval` is a duration Prometheus takes for scrape_interval here (e.g. 1s, 500ms, 1m). */
export function scrapeIntervalProblem(interval: string): string | undefined {
  return DURATION_RE.test(interval) ? undefined : `${JSON.stringify(interval)} is not a scrape interval (e.g. 15s, 1s, 500ms, 1m)`;
}

export function prometheusConfig(s: Scenario, interval = DEFAULT_SCRAPE_INTERVAL): PrometheusConfig {
  const ztunnels: ScrapeTarget[] = s.nodes.map((n) => ({
    targets: [`${hostAddress(n.ip)}:${PORT_METRICS}`],
    labels: { namespace: ISTIO_SYSTEM, pod: `ztunnel-${n.name}`, app: 'ztunnel', node: n.name },
  }));
  const proxies: ScrapeTarget[] = s.workloads.filter(isProxyPod).map((w) => ({
    targets: [`${hostAddress(w.ip)}:${PORT_METRICS}`],
    labels: { namespace: w.namespace, pod: w.name, app: w.workloadName, node: w.node },
  }));
  const jobs: ScrapeJob[] = [
    {
      job_name: 'istiod',
      metrics_path: '/metrics',
      static_configs: [{ targets: [`${hostAddress(istiodIp(s))}:${PORT_ISTIOD_MONITORING}`], labels: { namespace: ISTIO_SYSTEM, app: 'istiod' } }],
    },
    { job_name: 'ztunnel', metrics_path: '/metrics', static_configs: ztunnels },
  ];
  if (proxies.length > 0) jobs.push({ job_name: 'envoy-stats', metrics_path: '/stats/prometheus', static_configs: proxies });
  return { global: { scrape_interval: interval, evaluation_interval: interval }, scrape_configs: jobs };
}
