/** Public API of the experiment statistics: the decision engine and its building blocks. */
export { decide, ENGINE, InvalidDecisionInput } from './decide';
export type { DecideInput, DecideOutput } from './decide';
export {
  confidenceSequence,
  confidenceSequenceHalfWidth,
  mixtureLikelihoodRatio,
  mixtureLogLikelihoodRatio,
  msprtPValue,
  oneSidedPValue,
  updateDirectional,
} from './msprt';
export type { DirectionalPValues } from './msprt';
export { holm } from './holm';
export { chiSquareSurvival, srmTest } from './srm';
export type { SrmResult } from './srm';
export { expectedLoss, probBeatControl } from './bayes';
export { normalCdf, normalPdf, normalQuantile, normalSurvival } from './normal';
export { logGamma, regularizedGammaP, regularizedGammaQ } from './gamma';
export { difference, metricSummary, proportionSummary, ratingSummary } from './metric';
export type { Difference, MetricSummary } from './metric';
export { checkGuardrails } from './guardrails';
export type { GuardrailCheck } from './guardrails';
export { fixedHorizonSampleSize } from './power';
