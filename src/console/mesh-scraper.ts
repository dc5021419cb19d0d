// The live page's Prometheus: once a second, while someone watches, it scrapes every ztunnel,
// waypoint and ingress gateway of the mesh (the targets `x prometheus-config` lists) and folds
// their counters into the graph's edges. The proxies count every request anyway; a scrape costs
// each of them one rendering of its series a second, however busy it is, so the page samples
// the data path and never slows it. Nobody watching, nothing is scraped.
import type { Scenario } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_METRICS } from '../mesh/ports';
import { GATEWAY_APP, isProxyPod } from '../mesh/app-kinds';
import { parsePromText } from '../telemetry/prom-text';
import { errorMessage } from '../error-message';
import { foldScrape, GRAPH_METRICS, ProxySamples, ProxyRole } from './edge-totals';
import { EdgeRates, LiveEdge } from './edge-rates';

export const SCRAPE_INTERVAL_MS = 1000;
/** A proxy that has not answered by then is left out of this scrape (and named). */
const SCRAPE_TIMEOUT_MS = 800;

interface Target {
  readonly proxy: string;
  readonly role: ProxyRole;
  readonly url: string;
  readonly workload?: string;
  readonly namespace?: string;
}

export interface GraphSnapshot {
  readonly at: string;
  readonly edges: readonly LiveEdge[];
  /** Proxies that did not answer this scrape, with why. */
  readonly unreachable: readonly string[];
  /** Edges left out past MAX_EDGES. */
  readonly dropped: number;
}

export function scrapeTargets(s: Scenario): Target[] {
  const ztunnels: Target[] = s.nodes.map((n) => ({ proxy: `ztunnel-${n.name}`, role: 'ztunnel', url: `http://${hostAddress(n.ip)}:${PORT_METRICS}/metrics` }));
  const proxies: Target[] = s.workloads.filter(isProxyPod).map((w) => ({
    proxy: w.name,
    role: w.app.kind === GATEWAY_APP ? 'gateway' : 'waypoint',
    url: `http://${hostAddress(w.ip)}:${PORT_METRICS}/stats/prometheus`,
    workload: w.workloadName,
    namespace: w.namespace,
  }));
  return [...ztunnels, ...proxies];
}

/** Only the graph's lines of a scrape: a waypoint's histograms are most of its page. */
export function graphLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => GRAPH_METRICS.some((m) => l.startsWith(m) && (l[m.length] === '{' || l[m.length] === ' ')))
    .join('\n');
}

export class MeshScraper {
  private readonly rates = new EdgeRates();
  private readonly watchers = new Set<(g: GraphSnapshot) => void>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private last?: GraphSnapshot;

  constructor(private readonly scenario: () => Scenario) {}

  /** Calls `watcher` with each scrape's graph, the last one first if there is one; returns how to stop. */
  watch(watcher: (g: GraphSnapshot) => void): () => void {
    this.watchers.add(watcher);
    if (this.last) watcher(this.last);
    if (!this.timer) {
      void this.scrape();
      this.timer = setInterval(() => void this.scrape(), SCRAPE_INTERVAL_MS);
    }
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stop();
    };
  }

  /** One scrape now, for a caller that wants the graph without watching (the API's /api/graph). */
  async snapshot(): Promise<GraphSnapshot> {
    if (this.last && this.timer) return this.last;
    await this.scrape();
    return this.last!;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async scrape(): Promise<void> {
    // A scrape slower than the interval is not overlapped by the next one.
    if (this.running) return;
    this.running = true;
    try {
      const unreachable: string[] = [];
      const answers = await Promise.all(
        scrapeTargets(this.scenario()).map(async (t): Promise<ProxySamples | undefined> => {
          try {
            const res = await fetch(t.url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            return { proxy: t.proxy, role: t.role, workload: t.workload, namespace: t.namespace, samples: parsePromText(graphLines(await res.text())) };
          } catch (err) {
            unreachable.push(`${t.proxy}: ${errorMessage(err)}`);
            return undefined;
          }
        }),
      );
      const { edges, dropped } = foldScrape(answers.filter((a): a is ProxySamples => a !== undefined));
      this.rates.add(performance.now(), edges);
      this.last = { at: new Date().toISOString(), edges: this.rates.edges(), unreachable, dropped };
      for (const w of this.watchers) w(this.last);
    } finally {
      this.running = false;
    }
  }
}
