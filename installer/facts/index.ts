export { factsScript, factsCommand, parseFactsOutput, gatherFacts, gatherFactsAndRun, type GatherOptions } from './gather.js';
export { formatFactsText, formatRawSections, humanBytes } from './format.js';
export { FACTS, FACT_NAMES } from './registry.js';
export { diskVerdict } from './defs/disks.js';
export { PACKAGES_OF_INTEREST } from './defs/packages.js';
export { factValue } from './types.js';
export type * from './types.js';
export { blankDisks, findDisk, managementNic, nicWithAddress } from './query.js';
