/**
 * progress: build event types and the renderers, the only code that prints build output.
 *
 *   const r = createRenderer('plain' | 'json' | 'quiet' | 'tty', stream)
 *   solver emits BuildEvent → r.sink(event); r.close() when the build ends
 */
export type { Advice, AdviceRule, BuildEvent, ContextReport, GraphStage, GraphStep, MissKind, MissReason, PullProgress, PushProgress, StepRef } from './events.js';
export { humanBytes, progressBar, pullRenderer, pushRenderer, type PullRenderer } from './pull.js';
export { createRenderer, type ProgressMode } from './render.js';
export { adviceLines } from './summary.js';
export { reportCollector, type BuildRecord, type ReportCollector, type ReportStep, type StepOutcome } from './report-data.js';
export { renderReportHtml, type ReportPage } from './report-html.js';
