// The caps of limits.ts applied to a scenario: its file's size, checked before the file is
// read, and its lists of nodes, pods and services, checked before their entries are read (a
// scenario too big to start is refused as a whole, with no other problems to wade through).
import { isSeq } from 'yaml';
import { MAX_MANIFEST_FILES, MAX_NODES, MAX_SCENARIO_BYTES, MAX_SERVICES, MAX_WORKLOADS } from './limits';
import { Field } from './yaml-fields';

const LIMITS_FILE = 'src/mesh/limits.ts';
const STARTS = (what: string): string => `${what}, and the mesh must be ready within the runner's start-up timeout on this machine`;

interface ListLimit {
  readonly key: string;
  readonly max: number;
  readonly noun: string;
  readonly constant: string;
  /** Why, when it is more than keeping the checks cheap. */
  readonly why?: string;
}

const LIST_LIMITS: readonly ListLimit[] = [
  { key: 'nodes', max: MAX_NODES, noun: 'nodes', constant: 'MAX_NODES', why: STARTS('each node is a ztunnel process and a node agent process') },
  { key: 'workloads', max: MAX_WORKLOADS, noun: 'pods', constant: 'MAX_WORKLOADS', why: STARTS('every pod starts in its node agent') },
  { key: 'services', max: MAX_SERVICES, noun: 'services', constant: 'MAX_SERVICES' },
  { key: 'manifests', max: MAX_MANIFEST_FILES, noun: 'manifest files', constant: 'MAX_MANIFEST_FILES' },
];

/** The problem with a file of `bytes`, or undefined when it may be read. */
export function fileSizeProblem(bytes: number, grew = false): string | undefined {
  if (bytes <= MAX_SCENARIO_BYTES) return undefined;
  const size = grew ? `grew past ${MAX_SCENARIO_BYTES} bytes while it was read` : `is ${sizeText(bytes)} (${bytes} bytes)`;
  return `the file ${size}; a scenario file may be at most ${sizeText(MAX_SCENARIO_BYTES)} (MAX_SCENARIO_BYTES in ${LIMITS_FILE})`;
}

/** Reports, at each list, the ones longer than their cap; true when any was. */
export function checkListLimits(root: Field): boolean {
  let over = false;
  for (const limit of LIST_LIMITS) {
    const list = root.find(limit.key);
    const count = list && isSeq(list.node) ? list.node.items.length : 0;
    if (count <= limit.max) continue;
    over = true;
    const why = limit.why ? `: ${limit.why}` : '';
    list!.problem(`${count} ${limit.noun}, more than the ${limit.max} a scenario may declare (${limit.constant} in ${LIMITS_FILE}${why})`);
  }
  return over;
}

function sizeText(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}
