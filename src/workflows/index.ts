/** Every workflow the worker runs (this file is the bundle entry point). */
export { optimizationCycle } from './cycle';
export { experimentMonitor } from './monitor';
export { rolloutWatch } from './rollout';
export { patternAnalysisSweep } from './sweep';
export { experimentReconcile } from './reconcile';
export { jobIntake } from './intake';
export { runJob } from './job';
