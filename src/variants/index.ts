/** Variant generation: strategies propose prompt variants, the validator decides which may run. */
export { normalizePrompt, promptHash } from './normalize';
export { validateCandidate, DEFAULT_MAX_LENGTH, DEFAULT_MIN_LENGTH } from './validate';
export type { ValidationLimits, ValidationResult } from './validate';
export { extractVariables, extractLockedBlocks } from './template';
export type { VariantStrategy } from './strategy';
export { rulesStrategy } from './rules';
export { llmStrategy } from './llm';
export type { LlmStrategyOptions } from './llm';
export { buildMetaPrompt } from './meta-prompt';
export { LlmError, LlmUnavailableError, LlmResponseError } from './errors';
export { generateVariants } from './generate';
export type { AcceptedVariant, GenerationResult } from './generate';
