// Package archtest holds the test that keeps docs/architecture.md honest:
// every package of the module imports only the pcapx packages the doc's
// table of packages allows it, and the table names every package there is.
// It has no code of its own.
package archtest
