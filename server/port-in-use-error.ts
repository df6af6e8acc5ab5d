/** The HTTP port is taken; the launcher names the flag to change instead of printing a stack. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  readonly code = 'EADDRINUSE';

  constructor(
    readonly port: number,
    readonly host: string,
    options?: ErrorOptions,
  ) {
    super(`HTTP port ${port} on ${host} is already in use`, options);
  }
}
