/**
 * The bounds of issue 12 item 7 (and of issue 15 item 6 for the watch), stated for 2,000 runs per scenario, as data: the benchmark
 * prints each next to its figure (PASS/FAIL) so a reader sees at a glance what holds. It is a
 * measurement, not a test, so a FAIL does not change the exit code.
 */
import type { Figure } from './scenarios';

/** The engine's figures of one scenario that bounds are stated on. */
export type EngineFigures = Record<Figure, number | null>;

export interface BoundResult {
  id: string;
  scenario: string;
  figure: Figure;
  /** Human statement of the bound. */
  text: string;
  /** The figure must be at least the limit (default: at most). */
  atLeast?: boolean;
  value: number | null;
  limit: number | null;
  /** null when a scenario it needs was not run (or has no value). */
  pass: boolean | null;
}

export interface BoundSpec {
  id: string;
  scenario: string;
  figure: Figure;
  text: string;
  atLeast?: boolean;
  /** The limit, given the results (null when what it depends on is missing). */
  limit: (engine: (id: string) => EngineFigures | undefined, fixedHorizonHours: number) => number | null;
}

export const BOUNDS: BoundSpec[] = [
  { id: 'aa3_promoted', scenario: 'aa3', figure: 'promotedShare', text: 'aa3 promotes <= 5%', limit: () => 0.05 },
  {
    id: 'aa3_telemetry_promoted',
    scenario: 'aa3_telemetry',
    figure: 'promotedShare',
    text: 'aa3_telemetry promotes <= 5%',
    limit: () => 0.05,
  },
  {
    id: 'aa3_telemetry_stopped',
    scenario: 'aa3_telemetry',
    figure: 'stoppedEarlyShare',
    text: 'aa3_telemetry stops early <= 2%',
    limit: () => 0.02,
  },
  { id: 'srm_biased_promoted', scenario: 'srm_biased', figure: 'promotedShare', text: 'srm_biased promotes <= 5%', limit: () => 0.05 },
  {
    id: 'error_regression_promoted',
    scenario: 'error_regression',
    figure: 'promotedShare',
    text: 'error_regression promotes <= 1%',
    limit: () => 0.01,
  },
  {
    id: 'latency_regression_promoted',
    scenario: 'latency_regression',
    figure: 'promotedShare',
    text: 'latency_regression promotes <= 1%',
    limit: () => 0.01,
  },
  {
    id: 'novelty_min72_promoted',
    scenario: 'novelty_min72',
    figure: 'promotedShare',
    text: 'novelty_min72 promotes <= 10%',
    limit: () => 0.1,
  },
  {
    id: 'lift5_median',
    scenario: 'lift5',
    figure: 'medianHours',
    text: 'lift5 median hours <= the fixed horizon',
    limit: (_engine, fixedHorizonHours) => fixedHorizonHours,
  },
  {
    id: 'topics_up5_median',
    scenario: 'topics_up5',
    figure: 'medianHours',
    text: 'topics_up5 median <= 0.85 x topics_up5_unadjusted median',
    limit: (engine) => {
      const unadjusted = engine('topics_up5_unadjusted')?.medianHours;
      return unadjusted === undefined || unadjusted === null ? null : 0.85 * unadjusted;
    },
  },
  {
    id: 'guard_aa_rolled_back',
    scenario: 'guard_aa',
    figure: 'rolledBackShare',
    text: 'guard_aa rolls back <= 5% (issue 15)',
    limit: () => 0.05,
  },
  {
    id: 'guard_regression_rolled_back',
    scenario: 'guard_regression',
    figure: 'rolledBackShare',
    text: 'guard_regression rolls back >= 90% within the watch (issue 15)',
    atLeast: true,
    limit: () => 0.9,
  },
];

/** Every bound against the engine's figures per scenario id (absent: the scenario was not run). */
export function evaluateBounds(engine: (id: string) => EngineFigures | undefined, fixedHorizonHours: number): BoundResult[] {
  return BOUNDS.map((b) => {
    const value = engine(b.scenario)?.[b.figure] ?? null;
    const limit = b.limit(engine, fixedHorizonHours);
    const pass = value === null || limit === null ? null : b.atLeast ? value >= limit : value <= limit;
    return { id: b.id, scenario: b.scenario, figure: b.figure, text: b.text, ...(b.atLeast ? { atLeast: true } : {}), value, limit, pass };
  });
}
