/**
 * plan: resolved stages → a DAG of vertices, pruned to the stages `--target` needs.
 *
 *   buildPlan(resolved, { target }) → { plan?, diagnostics }
 *
 * Every stage is a chain of vertices starting at its FROM. A filesystem vertex (FROM, RUN, COPY,
 * ADD, WORKDIR) names `fsParent`, the previous filesystem vertex of its stage: that is the parent
 * in its cache key, so metadata steps (ENV, LABEL, CMD…) between two RUNs never invalidate the
 * second. Edges between stages come from `FROM <stage>`, `COPY --from` and `RUN --mount=from=`.
 */
export * from './types.js';
export { buildPlan } from './build.js';
export { renderPlanText, renderPlanJson, renderPlanDot } from './render.js';
