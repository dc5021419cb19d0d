// ratings: the stars each reviewer gave. GET /ratings/<id>, GET /health.
import type { AppContext, RunningApp } from '../app';
import { RATINGS } from './book';
import { startByIdService } from './by-id';

export function startRatings(ctx: AppContext): Promise<RunningApp> {
  return startByIdService(ctx, {
    name: 'ratings',
    healthy: 'Ratings is healthy',
    badId: 'please provide numeric product ID',
    answer: (id) => ({ id, ratings: RATINGS }),
  });
}
