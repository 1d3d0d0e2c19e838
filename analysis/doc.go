// Package analysis holds the statistics and judgements smtpbench makes on
// saved results: comparing two groups of runs (medians with confidence
// intervals, the Mann-Whitney U test, Holm's adjustment), the knee of a
// sweep and where abuse starts to hurt, and the one threshold evaluator
// behind run's thresholds and a capacity search's objectives.
//
// It reads the typed result document of package report and nothing of the
// command line; report never imports it. What it finds is written back
// into report's types (report.Comparison, report.KneeJSON,
// report.HurtJSON), whose renderers stay in report.
package analysis
