export function bundlePath(root: string): string;
export function bundleIsFresh(root: string): boolean;
