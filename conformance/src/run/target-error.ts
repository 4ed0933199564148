// A target the suite cannot run against (unreachable broker or API, refused credentials, failed
// setup): the CLI exits with code 2.
export class TargetError extends Error {
  override readonly name = 'TargetError';
}
