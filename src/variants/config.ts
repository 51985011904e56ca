import { llmStrategy, type LlmStrategyOptions } from './llm';
import { rulesStrategy } from './rules';
import type { VariantStrategy } from './strategy';

export interface StrategyConfig {
  strategy: 'rules' | 'llm';
  llm?: LlmStrategyOptions;
}

/** Picks the strategy; an `llm` choice without its settings is a configuration error, not a silent fallback. */
export function strategyFromConfig(cfg: StrategyConfig): VariantStrategy {
  if (cfg.strategy === 'rules') return rulesStrategy;
  if (!cfg.llm) throw new Error('Variant strategy "llm" needs llm settings (baseURL, apiKey, model).');
  return llmStrategy(cfg.llm);
}
