export { createPromptClient, PromptClient } from './client.js';
export { NotReadyError, PromptClientError, type PromptClientErrorCode } from './errors.js';
export { assignmentBucket, pickArm } from './assignment.js';
export { renderTemplate, type TemplateVariables } from './template.js';
export { DEFAULTS } from './options.js';
export type * from './types.js';
