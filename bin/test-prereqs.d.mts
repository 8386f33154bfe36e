export const TEST_PACKAGES: Record<string, string>;
export const APT_COMMAND: string;
export function dpkgQueryArgs(packages: string[]): string[];
export function missingPackages(dpkgOutput: string, needed: string[]): string[];
export type Advice =
  | { action: 'ok' }
  | { action: 'install'; message: string; packages: string[] }
  | { action: 'stop'; message: string };
export function advice(missing: string[], options: { root: boolean }): Advice;
