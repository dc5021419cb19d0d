// Which suites get a picture of their own, what each is called, and where its file goes: beside
// the run's report, named after it (REPORT-throughput.svg, <stamp>-latency.svg). A suite that did
// not run draws nothing, so its section shows only what there is.
import type { BenchResults } from '../results';
import { latencyPicture } from './latency-picture';
import { scalePicture } from './scale-picture';
import { throughputPicture } from './throughput-picture';

/** The suites whose figures a picture says more about than a table: in report order. */
export const PICTURE_SUITES = ['throughput', 'latency', 'scale'] as const;
export type PictureSuite = (typeof PICTURE_SUITES)[number];

/** Alt text in the report: what the picture shows, for a reader who cannot see it. */
export const PICTURE_ALT: Readonly<Record<PictureSuite, string>> = {
  throughput: 'throughput by path',
  latency: 'latency percentiles by path',
  scale: 'RSS per idle connection as connections grow',
};

export function pictureFileName(base: string, suite: PictureSuite): string {
  return `${base}-${suite}.svg`;
}

/** Each picture drawn from this run's results, by suite; suites without data are absent. */
export function suitePictures(r: BenchResults): Partial<Record<PictureSuite, string>> {
  const drawn: Record<PictureSuite, string | undefined> = {
    throughput: throughputPicture(r.throughput),
    latency: latencyPicture(r.latency),
    scale: scalePicture(r.scale),
  };
  return Object.fromEntries(PICTURE_SUITES.flatMap((s) => (drawn[s] === undefined ? [] : [[s, drawn[s]]])));
}
