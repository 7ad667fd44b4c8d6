/**
 * The library's two error classes for what a caller gave it: a flow or probe that cannot run as
 * given (FlowError: the value is of the right kind but names something the cluster does not have,
 * or cannot be carried out), and an argument of the wrong type or shape (ArgumentError: what a
 * type checker would have caught, checked at run time for JavaScript callers).
 */

/**
 * Raised for a flow or probe that cannot run as given: a bad duration, an unknown Service, port,
 * pod, node or external host, a destination that does not parse.
 */
export class FlowError extends Error {
  override readonly name = 'FlowError';
}

/**
 * Raised by an exported function given an argument of the wrong type or shape; `argument` names
 * it as the caller wrote it (`opts.flows[0].to`, `opts.kubeProxy.nodePortAddresses[0]`).
 */
export class ArgumentError extends TypeError {
  override readonly name = 'ArgumentError';
  constructor(
    /** The argument, as a path from the function's parameters (`opts.seed`, `opts.flows[2].count`). */
    readonly argument: string,
    /** What was expected and what came (`expected an integer, got "7"`). */
    readonly problem: string,
  ) {
    super(`${argument}: ${problem}`);
  }
}
