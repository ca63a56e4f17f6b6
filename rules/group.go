package rules

import (
	"fmt"
	"sort"

	"github.com/pcapx/pcapx/flows"
)

// maxGroups bounds how many distinct causes one grouping rule tracks (a DNS
// scan can bring a million names); past it, occurrences are counted in an
// overflow group so no evidence of scale is lost.
const maxGroups = 10_000

// group accumulates occurrences of one cause.
type group struct {
	key      string
	count    int64
	first    int64
	last     int64
	evidence []flows.FrameRef
	flow     *flows.FlowRef // set while all occurrences share one flow
	multi    bool           // occurrences came from more than one flow
	examples []string       // a few distinct examples (targets, names)
	worst    float64        // the largest measured value (latency, ms)
	sum      float64
	data     any // rule-specific detail of the first occurrence
}

// groups is an insertion-ordered, bounded map of groups.
type groups struct {
	m        map[string]*group
	order    []*group
	overflow int64
}

func (g *groups) add(key string, ts int64, ref flows.FrameRef, flow flows.FlowRef) *group {
	if g.m == nil {
		g.m = map[string]*group{}
	}
	e := g.m[key]
	if e == nil {
		if len(g.m) >= maxGroups {
			g.overflow++
			return nil
		}
		f := flow
		e = &group{key: key, first: ts, flow: &f}
		g.m[key] = e
		g.order = append(g.order, e)
	}
	e.again(ts, ref, flow)
	return e
}

// again counts one more occurrence in group e (found by the caller).
func (e *group) again(ts int64, ref flows.FrameRef, flow flows.FlowRef) {
	e.count++
	if ts < e.first {
		e.first = ts
	}
	if ts > e.last {
		e.last = ts
	}
	if len(e.evidence) < 5 && ref.Frame > 0 {
		e.evidence = append(e.evidence, ref)
	}
	if e.flow != nil && e.flow.CommunityID != flow.CommunityID {
		e.flow, e.multi = nil, true
	}
}

// merge folds group o into the group at key (made on first use); nil when
// the groups are full (o's occurrences are counted in the overflow).
func (g *groups) merge(key string, o *group) *group {
	if g.m == nil {
		g.m = map[string]*group{}
	}
	e := g.m[key]
	if e == nil {
		if len(g.m) >= maxGroups {
			g.overflow += o.count
			return nil
		}
		e = &group{key: key, first: o.first, last: o.last, flow: o.flow, multi: o.multi}
		g.m[key] = e
		g.order = append(g.order, e)
	} else {
		e.first, e.last = min(e.first, o.first), max(e.last, o.last)
		if e.flow == nil || o.flow == nil || e.flow.CommunityID != o.flow.CommunityID {
			e.flow, e.multi = nil, true
		}
	}
	e.count += o.count
	e.sum += o.sum
	e.worst = max(e.worst, o.worst)
	for _, r := range o.evidence {
		if len(e.evidence) < 5 {
			e.evidence = append(e.evidence, r)
		}
	}
	return e
}

// room says whether an occurrence of key would find a group (its own,
// or a new one under the bound).
func (g *groups) room(key string) bool {
	_, ok := g.m[key]
	return ok || len(g.m) < maxGroups
}

func (e *group) example(s string) {
	if len(e.examples) >= 3 {
		return
	}
	for _, x := range e.examples {
		if x == s {
			return
		}
	}
	e.examples = append(e.examples, s)
}

func (e *group) measure(v float64) {
	e.sum += v
	if v > e.worst {
		e.worst = v
	}
}

// sorted returns the groups with the most occurrences first.
func (g *groups) sorted() []*group {
	out := append([]*group(nil), g.order...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].count > out[j].count })
	return out
}

// finding fills the common fields of a finding from a group.
func (e *group) finding(r *Rule, sev Severity, msg, filter string) Finding {
	return Finding{
		Rule:     r.ID,
		Severity: sev,
		Title:    r.Title,
		Message:  msg,
		First:    flows.FormatTime(e.first),
		Last:     flows.FormatTime(e.last),
		FirstNS:  e.first,
		LastNS:   e.last,
		Count:    e.count,
		Flow:     e.flow,
		Evidence: evidence(e.evidence...),
		Filter:   filter,
	}
}

// reportOverflow reports the occurrences that found no group (past
// maxGroups) as one finding with their count, so none goes uncounted.
// what names them in the plural ("HTTP 5xx responses").
func (g *groups) reportOverflow(report func(Finding), r *Rule, sev Severity, what, filter string) {
	if g.overflow == 0 {
		return
	}
	report(Finding{Rule: r.ID, Severity: sev, Title: r.Title, Count: g.overflow, Evidence: []Evidence{}, Filter: filter,
		Message: fmt.Sprintf("%d more %s, beyond the first %d groups this rule keeps (not itemised)", g.overflow, what, maxGroups)})
}
