// The latency suite's picture: p50, p90 and p99 of each request path at the fixed rate, under
// each load generator side by side (paced, then autocannon), with the p90 targets drawn on the
// paced columns where they fall (paced direct's p90 plus what the path may add), so a miss shows
// as a column standing above its line.
import type { LatencyResult, Percentiles, RequestPath } from '../results';
import { columnChartSvg, type Column, type ColumnGroup } from './columns';
import { PALETTE } from './draw';
import { latencyRate } from './svg';
import { GENERATOR_ORDER, REQUEST_LABELS, REQUEST_ORDER } from './table';
import { formatNumber, L4_P90_ADDED_MAX_MS, L7_P90_ADDED_MAX_MS, LATENCY_TARGET_GENERATOR } from './targets';

export const LATENCY_PICTURE_TITLE = 'Latency percentiles by path';
const AXIS_TITLE = 'milliseconds per request';
const PERCENTILES: readonly (keyof Percentiles)[] = ['p50', 'p90', 'p99'];
/** The targets are stated on p90 added over direct; direct itself has none. */
const TARGET_PERCENTILE: keyof Percentiles = 'p90';
const ADDED_LIMIT_MS: Readonly<Partial<Record<RequestPath, number>>> = { l4: L4_P90_ADDED_MAX_MS, l7: L7_P90_ADDED_MAX_MS };
const DECIMALS = 3;

const ms = (x: number): string => `${formatNumber(x, DECIMALS)} ms`;
const signed = (x: number): string => (x < 0 ? `−${ms(-x)}` : `+${ms(x)}`);

/** The picture, or undefined when the suite did not run. */
export function latencyPicture(results: readonly LatencyResult[]): string | undefined {
  if (results.length === 0) return undefined;
  const rps = latencyRate(results);
  const atRate = results.filter((l) => l.targetRps === rps);
  const generators = GENERATOR_ORDER.filter((g) => atRate.some((l) => l.generator === g));
  const groups: ColumnGroup[] = REQUEST_ORDER.flatMap((path) =>
    generators.flatMap((generator) => {
      const l = atRate.find((x) => x.path === path && x.generator === generator);
      if (!l) return [];
      const direct = atRate.find((x) => x.path === 'direct' && x.generator === generator);
      const label = `${REQUEST_LABELS[path]}, ${generator}`;
      const columns = PERCENTILES.map((p, series): Column => {
        const added = path === 'direct' ? '' : ` (${signed(l.addedMs[p])} over direct)`;
        const allowed = ADDED_LIMIT_MS[path];
        const limit =
          p === TARGET_PERCENTILE && generator === LATENCY_TARGET_GENERATOR && allowed !== undefined && direct
            ? {
                value: direct.ms[p] + allowed,
                tooltip: `target: ${label} ${p} at most ${formatNumber(allowed, 1)} ms over direct, ${ms(direct.ms[p] + allowed)}`,
              }
            : undefined;
        return {
          series,
          value: l.ms[p],
          valueLabel: formatNumber(l.ms[p], DECIMALS),
          tooltip: `${label} ${p}: ${ms(l.ms[p])}${added}`,
          ...(limit ? { limit } : {}),
        };
      });
      return [{ label, columns }];
    }),
  );
  const sample = atRate[0];
  const reps = Math.max(...atRate.map((l) => l.repsMs.length));
  return columnChartSvg({
    title: LATENCY_PICTURE_TITLE,
    subtitle:
      `${formatNumber(rps, 0)} requests/s over ${sample.connections} connections, ${formatNumber(sample.payloadBytes, 0)} B payloads; median of ${reps} repetition${reps === 1 ? '' : 's'}. ` +
      `${generators.includes('paced') ? 'paced: open loop, timed from each intended send (fortio’s model). ' : ''}` +
      `${generators.includes('autocannon') ? 'autocannon: closed loop, timed from the actual send. ' : ''}Lower is better.`,
    axisTitle: AXIS_TITLE,
    series: PERCENTILES.map((p, i) => ({ label: p, colour: PALETTE[i % PALETTE.length] })),
    groups,
    limitLegend: `${TARGET_PERCENTILE} target (${LATENCY_TARGET_GENERATOR}): direct's ${TARGET_PERCENTILE} ${REQUEST_ORDER.flatMap((p) => {
      const allowed = ADDED_LIMIT_MS[p];
      return allowed === undefined ? [] : [`+${formatNumber(allowed, 1)} ms (${REQUEST_LABELS[p]})`];
    }).join(', ')}`,
  });
}
