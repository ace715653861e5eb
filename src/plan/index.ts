/**
 * plan: resolved stages → a DAG of vertices, pruned to the stages `--target` needs.
 *
 *   buildPlan(resolved, { target }) → { plan?, diagnostics }
 *   planDockerfile(ast, { buildArgs, target, imageEnv }, parseDiagnostics) → lint + resolve + plan
 *   planDockerfileAsync(ast, opts, images, parseDiagnostics) → the same, base images from a BaseImageResolver
 *   vertexOp(vertex) → the expanded operation as plain data (the `op` of a cache key)
 *   stepsUpToLastRun(plan) → ids of the steps with a RUN at or after them in their stage
 *
 * Every stage is a chain of vertices starting at its FROM. A filesystem vertex (FROM, RUN, COPY,
 * ADD, WORKDIR) names `fsParent`, the previous filesystem vertex of its stage: that is the parent
 * in its cache key, so metadata steps (ENV, LABEL, CMD…) between two RUNs never invalidate the
 * second. Edges between stages come from `FROM <stage>`, `COPY --from` and `RUN --mount=from=`.
 */
export type { CopyVertex, FromVertex, LayerVertex, MetaInstruction, MetaVertex, Plan, PlanStage, RunVertex, Vertex } from './types.js';
export { buildPlan } from './build.js';
export { planDockerfile, planDockerfileAsync } from './from-dockerfile.js';
export { vertexOp } from './op.js';
export { renderPlanText, renderPlanJson, renderPlanDot } from './render.js';
export { checkEntitlements, ENTITLEMENTS, type Entitlement } from './entitlements.js';
export { stepsUpToLastRun } from './run-steps.js';
