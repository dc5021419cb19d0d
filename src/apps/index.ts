// The workload apps by the kind a scenario names in a pod's `app.kind`.
import type { StartApp } from './app';
import { startProductpage } from './bookinfo/productpage';
import { startDetails } from './bookinfo/details';
import { startReviews } from './bookinfo/reviews';
import { startRatings } from './bookinfo/ratings';
import { startEcho } from './echo';
import { startHttpEcho } from './http-echo';
import { startSink } from './sink';
import { startSleep } from './sleep';

export const apps: Record<string, StartApp> = {
  productpage: startProductpage,
  details: startDetails,
  reviews: startReviews,
  ratings: startRatings,
  sleep: startSleep,
  echo: startEcho,
  sink: startSink,
  'http-echo': startHttpEcho,
};

export type { AppContext, RunningApp, StartApp } from './app';
