// Package lifecycle holds the pure segment, program and lifecycle-stage
// rules (DESIGN.md §3, handbook 004 and 001). Nothing here does I/O or reads
// a clock: callers pass Rules (DefaultRules, or a workspace's) and the
// account's values, and get back the assignment with a Reason a person can
// read, which the engine records with each change.
//
// Segment, by estimated developers: Strategic from 10,000; Enterprise from
// 1,500 to 9,999; Commercial under 1,500 (an unknown count of 0 included).
//
// Program: one editable rule — segment, ARR threshold and direction.
// The default is 004's "Assign Scaled Success Accounts" playbook: Commercial
// with ARR under $50,000 is Scaled Success; everything else is Managed
// (Strategic and Enterprise are Managed at any ARR). 001's table instead
// says Commercial over $100k is unmanaged; a workspace can say that with
// Direction Above.
//
// Stage, first match wins:
//
//   - Churned after a full churn.
//   - 0. Prospect until the deal closes (no close date, or one still ahead).
//   - 4. Renewing from 120 days before the renewal date, on the renewal day,
//     and after it until the renewal is processed (with the signal
//     "renewal overdue"). It takes precedence over the stages below.
//     Processing the renewal (Input.RenewalProcessed, or moving the renewal
//     date to the next term) returns the account to Adopting or Nurturing by
//     its metrics.
//   - 1. Onboarding for the first 60 days after close: the close day is day
//     0, day 59 the last of Onboarding, day 60 the first after it.
//   - 3. Nurturing when both utilization targets hold: last month's
//     MAU/seats ≥ 0.80 and usage score ≥ 0.30.
//   - 2. Adopting otherwise, with what would move it: how far each target is.
//     Missing usage data means Adopting with the signal "usage data missing".
//
// A Nurturing account that loses its targets stays Nurturing with the signal
// "targets lost" unless Rules.FallBackToAdopting, in which case it returns to
// Adopting with the same signal. A Nurturing account whose usage data goes
// missing stays Nurturing: missing data is not evidence of a loss.
//
// Metrics are compared with a tolerance of 1e-9 so that a ratio computed by
// division as 0.8 counts as meeting 0.8.
package lifecycle
