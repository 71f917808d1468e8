// Package health scores an account's health under a health model and
// explains what would move it. It is a pure core: a model, the account's
// trait values and now go in; a Result or an Explanation comes out. Loading
// models from workspace files, choosing a model per account and recording
// changes belong to the engine.
//
// The rules, the handbook's (004 "Customer Health", DESIGN.md §3):
//
//   - A metric reads one trait. Its value is Healthy when it meets the
//     Healthy threshold, otherwise Poor when it meets the Poor threshold,
//     otherwise Concerning. Number metrics compare with >=, >, <= or <;
//     enum and bool metrics match a set of values (TA pulse "Concerning" is
//     in neither set); days_since metrics count whole calendar days from a
//     date trait to now's day, a future date counting 0.
//   - Healthy scores 10, Concerning 5, Poor 0.
//   - A missing value (absent, nil, empty text, or a value of the wrong
//     type, reported in MetricResult.Problem) is left out, never scored 0.
//   - A category scores the mean of its metrics that have data; a category
//     without any is left out.
//   - The score is the weighted mean of the categories with data, their
//     weights re-normalised to sum to 1 (EffectiveWeight). No data at all
//     means no score (nil) and no colour.
//   - The score is rounded to two decimals, then banded: green ≥ 6.67,
//     yellow ≥ 3.33, red below — so the number shown and its colour agree.
//   - Threshold comparisons forgive float noise below 1e-9 (relative), so a
//     computed 0.29999999999999993 meets "≥ 0.30" exactly as 0.3 does.
//
// Explain lists, for each metric with data that is not healthy, the nearest
// thresholds and the distance to them, rounded up to the metric's Step (1
// for counts and days, 0.01 for ratios), in words and numbers; and the
// single-metric changes that would raise the colour, smallest first.
package health
