// A run's report on disk: <base>.md, its chart <base>.svg and a picture per suite that has one,
// <base>-<suite>.svg, all in one directory so the report's links are plain file names. The base
// is the run's stamp under results/, or REPORT when the run is published.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchResults } from '../results';
import { reportMarkdown } from './markdown';
import { PICTURE_SUITES, pictureFileName, suitePictures, type PictureSuite } from './pictures';
import { chartSvg } from './svg';

/** The committed report's base name: bench/REPORT.md, REPORT.svg, REPORT-throughput.svg... */
export const PUBLISHED_BASE = 'REPORT';

export interface WrittenReport {
  /** The markdown report's path. */
  readonly report: string;
  /** Every file written, the report last. */
  readonly files: readonly string[];
}

export function writeReport(r: BenchResults, dir: string, base: string): WrittenReport {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    files.push(file);
  };
  const chart = `${base}.svg`;
  write(chart, chartSvg(r));
  const drawn = suitePictures(r);
  const names: Partial<Record<PictureSuite, string>> = {};
  for (const suite of PICTURE_SUITES) {
    const name = pictureFileName(base, suite);
    const svg = drawn[suite];
    if (svg === undefined) {
      // A picture left from an earlier run of the suite would sit beside a report that no longer shows it.
      fs.rmSync(path.join(dir, name), { force: true });
      continue;
    }
    write(name, svg);
    names[suite] = name;
  }
  write(`${base}.md`, reportMarkdown(r, chart, names));
  return { report: files[files.length - 1], files };
}
