// What went wrong, as text, from whatever was thrown: an Error's message, anything else as a
// string. One helper instead of `(err as Error).message` wherever a catch reports a failure.

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : String(err);
}
