import { createRequire } from 'node:module';

/** The version of @kmodel/sim (from its package.json), printed as `kmodel` in reports. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
