// The throughput suite's picture: MB/s of each path, one column per connection count. Side by
// side, the cost of each hop the mesh adds (TLS, HBONE, the two ztunnels, the waypoint) is the
// drop from one group to the next, which the table leaves to the reader's arithmetic.
import type { ThroughputResult } from '../results';
import { columnChartSvg, type ColumnGroup } from './columns';
import { PALETTE } from './draw';
import { THROUGHPUT_LABELS, THROUGHPUT_ORDER } from './table';
import { formatNumber } from './targets';

export const THROUGHPUT_PICTURE_TITLE = 'Throughput by path';
const AXIS_TITLE = 'MB/s (10⁶ bytes per second)';
const MiB = 2 ** 20;

const connectionsLabel = (n: number): string => (n === 1 ? '1 connection' : `${formatNumber(n, 0)} connections`);

/** The picture, or undefined when the suite did not run. */
export function throughputPicture(results: readonly ThroughputResult[]): string | undefined {
  if (results.length === 0) return undefined;
  const counts = [...new Set(results.map((t) => t.connections))].sort((a, b) => a - b);
  const tlsAt = (n: number) => results.find((t) => t.path === 'tls' && t.connections === n)?.mbPerS;
  const groups: ColumnGroup[] = THROUGHPUT_ORDER.flatMap((path) => {
    const columns = counts.flatMap((n, series) => {
      const t = results.find((x) => x.path === path && x.connections === n);
      if (!t) return [];
      const tls = tlsAt(n);
      const ratio = tls !== undefined && path !== 'tls' ? `, ${formatNumber(t.mbPerS / tls, 2)}x TLS` : '';
      return [
        {
          series,
          value: t.mbPerS,
          valueLabel: formatNumber(t.mbPerS, 0),
          tooltip: `${THROUGHPUT_LABELS[path]}, ${connectionsLabel(n)}: ${formatNumber(t.mbPerS, 0)} MB/s${ratio}`,
        },
      ];
    });
    return columns.length === 0 ? [] : [{ label: THROUGHPUT_LABELS[path], columns }];
  });
  const reps = Math.max(...results.map((t) => t.repsMbPerS.length));
  const mib = Math.max(...results.map((t) => t.bytesPerRep)) / MiB;
  return columnChartSvg({
    title: THROUGHPUT_PICTURE_TITLE,
    subtitle: `Median of ${reps} repetition${reps === 1 ? '' : 's'}, ${formatNumber(mib, 0)} MiB each, split across the connections. Higher is better.`,
    axisTitle: AXIS_TITLE,
    series: counts.map((n, i) => ({ label: connectionsLabel(n), colour: PALETTE[i % PALETTE.length] })),
    groups,
  });
}
