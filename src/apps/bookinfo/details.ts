// details: the book's edition, as JSON. GET /details/<id>, GET /health.
import type { AppContext, RunningApp } from '../app';
import { bookDetails } from './book';
import { startByIdService } from './by-id';

export function startDetails(ctx: AppContext): Promise<RunningApp> {
  return startByIdService(ctx, { name: 'details', healthy: 'Details is healthy', badId: 'please provide numeric product id', answer: bookDetails });
}
