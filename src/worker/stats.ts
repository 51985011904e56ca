/** The counters /health reports; incremented by activities in this process. */
export interface HealthStats {
  jobsCompleted: number;
  jobsFailed: number;
  patternsAnalyzed: number;
  variantsGenerated: number;
  experimentsCreated: number;
  experimentsCompleted: number;
}

export function newHealthStats(): HealthStats {
  return { jobsCompleted: 0, jobsFailed: 0, patternsAnalyzed: 0, variantsGenerated: 0, experimentsCreated: 0, experimentsCompleted: 0 };
}
