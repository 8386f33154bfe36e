export function bundlePath(root: string): string;
export function hasSources(root: string): boolean;
export function bundleIsFresh(root: string): boolean;
