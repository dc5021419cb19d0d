// The API server's refusals, each answered with the status kubectl shows for it.

/** 404: the object named is not there. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/** 409: a change kubectl would refuse as it stands (a label's value changed without --overwrite). */
export class Conflict extends Error {
  override name = 'Conflict';
}
