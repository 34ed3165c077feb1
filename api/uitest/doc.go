// Package uitest holds the end-to-end tests of the admin UI: a real
// Chromium, driven with chromedp, against the real API, database and
// recalculation engine. Screenshots of each step are written to
// testdata/artifacts/ at the top of the repository.
package uitest
