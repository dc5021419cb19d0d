// expect: what a request from a pod should meet. Exactly one outcome each:
//   - { from: <pod>, to: http://productpage:9080/productpage, status: 200 }  HTTP answer
//   - { from: <pod>, to: http://productpage:9080/productpage, denied: true } closed by policy
//   - { from: <pod>, to: echo:8080, connects: true }                         raw TCP connects
import type { Expectation } from './model';
import { parseHostPort, parseHttpUrl } from './addresses';
import { Entry, EntryReader } from './entry';
import { Field } from './yaml-fields';

export const EXPECT_FIELDS = ['from', 'to', 'status', 'denied', 'connects'] as const;
const OUTCOME_FIELDS = ['status', 'denied', 'connects'] as const;
const MIN_STATUS = 100;
const MAX_STATUS = 599;
const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

type Outcome = Expectation['outcome'];
type Form = 'url' | 'hostport';

export function readExpectation(item: Field, file: string): Entry<Expectation> | undefined {
  const fields = item.map(EXPECT_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const from = r.text('from', 'the pod the request starts from');
  const toField = r.field('to', 'an http:// URL, or host:port for a raw TCP check');
  const to = toField?.nonEmptyString();
  const form = to === undefined ? undefined : readTarget(toField!, to);
  return r.entry<Expectation>({ from, to, outcome: readOutcome(r, form), origin: `${file}:${item.line}` });
}

/** Whether `to` is a URL or host:port; undefined (after reporting) when it is neither. */
function readTarget(field: Field, to: string): Form | undefined {
  const form: Form = URL_RE.test(to) ? 'url' : 'hostport';
  const parsed = form === 'url' ? parseHttpUrl(to) : parseHostPort(to);
  if (typeof parsed !== 'string') return form;
  return field.problem(form === 'url' ? parsed : `${parsed}; write an http:// URL or host:port`);
}

/** The one outcome given; `form` is undefined when `to` is unusable, to avoid piling on. */
function readOutcome(r: EntryReader, form: Form | undefined): Outcome | undefined {
  const given = OUTCOME_FIELDS.filter((k) => r.fields.has(k));
  if (given.length === 0) return r.fields.problem('no outcome: give status: <HTTP status>, denied: true, or connects: true');
  for (const extra of given.slice(1)) r.field(extra, false)!.problem(`conflicts with ${given[0]}; an expectation has one outcome`);
  const key = given[0];
  const field = r.field(key, false)!;
  if (key === 'status') {
    const status = r.integer('status', false, statusProblem);
    if (status !== undefined && form === 'hostport') return field.problem('an HTTP status needs an http:// URL in to; for a raw TCP check use connects: true');
    return status;
  }
  const yes = field.boolean();
  if (yes === undefined) return undefined;
  if (!yes) return field.problem('must be true (leave it out otherwise)');
  if (key === 'connects' && form === 'url') return field.problem('checks a raw TCP connection; write to as host:port');
  return key === 'denied' ? 'denied' : 'connected';
}

function statusProblem(status: number): string | undefined {
  return status >= MIN_STATUS && status <= MAX_STATUS ? undefined : `${status} is not an HTTP status (${MIN_STATUS}-${MAX_STATUS})`;
}
