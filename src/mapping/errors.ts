/** Errors of the mapping engine: one for a mapping file that cannot be used, one internal signal for values. */
import { ConnectorError } from '../errors.js';

/**
 * The mapping file is unusable. Carries every problem found, so an operator fixes the file in one pass
 * instead of one restart per typo.
 */
export class MappingError extends ConnectorError {
  readonly problems: string[];
  readonly source: string;
  constructor(source: string, problems: string[]) {
    super('MAPPING_INVALID', `Invalid mapping ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`, { details: { source, problems } });
    this.problems = problems;
    this.source = source;
  }
}

/**
 * A value that cannot be turned into what a filter or field needs. Thrown while evaluating one product and
 * always caught by `map()`, which turns it into a rejected record; never escapes the mapping module.
 */
export class ValueProblem extends Error {}
