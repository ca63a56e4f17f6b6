package rules

import "testing"

// TestCapKeepsTheSignificant: past the per-rule cap the findings kept are
// the most severe, then the largest, whatever order they came in; the rest
// are counted with their occurrences, and the kept ones stay in the order
// they were reported.
func TestCapKeepsTheSignificant(t *testing.T) {
	a := &active{omitted: Omitted{Rule: "r"}}
	var total int64
	n := MaxFindingsPerRule + 100
	for i := 0; i < n; i++ {
		f := Finding{Rule: "r", Severity: Warning, Count: int64(1 + i%7)}
		if i == n-1 {
			f.Severity, f.Count = Error, 1 // the last reported, and the most severe
		}
		if i == 3 {
			f.Count = 1000 // early and large
		}
		total += f.Count
		a.keep(f)
	}
	kept := a.findings()
	if len(kept) != MaxFindingsPerRule || a.omitted.Findings != int64(n-MaxFindingsPerRule) {
		t.Fatalf("kept %d, omitted %d", len(kept), a.omitted.Findings)
	}
	var sum int64
	for _, f := range kept {
		sum += f.Count
	}
	if sum+a.omitted.Occurrences != total {
		t.Errorf("occurrences: %d kept + %d omitted != %d", sum, a.omitted.Occurrences, total)
	}
	if kept[len(kept)-1].Severity != Error || kept[0].Count != 1000 && kept[1].Count != 1000 && kept[2].Count != 1000 && kept[3].Count != 1000 {
		t.Errorf("the error (last) or the large early finding was dropped, or the order changed: first %+v, last %+v", kept[0], kept[len(kept)-1])
	}
	// The smallest were the ones left out: every kept warning has a count
	// at least that of any omitted one (counts 1..7, most kept are 7s).
	min := int64(1 << 62)
	for _, f := range kept {
		if f.Severity == Warning && f.Count < min {
			min = f.Count
		}
	}
	if min < 2 {
		t.Errorf("a count-1 warning was kept while %d were left out", a.omitted.Findings)
	}
}
