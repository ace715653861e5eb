export { serve, parseHost, stripVersion, type RunningServer } from './server.js';
export type { ServeOptions } from './types.js';
export type { ServeTlsOptions } from './tls.js';
