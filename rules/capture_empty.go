package rules

import (
	"fmt"
	"strings"
)

// CaptureEmpty reports a capture that holds no packets at all.
var CaptureEmpty = &Rule{
	ID:    "capture-empty",
	Title: "The capture holds no packets",
	Doc: `The capture files are valid but hold no packets: a file header and nothing
after it (or, read as a directory, files that were all empty and skipped). There
is nothing to analyse: no other rule can fire, so a report without findings says
nothing about the network here.

Likely causes: a capture filter that matched nothing (a typo in a host or port,
or traffic that is VLAN-tagged or tunnelled while the filter lacks "vlan" or the
outer header), the wrong interface (the traffic runs on another one, a bond
member, or another host), a capture still being written (tcpdump buffers
packets, so a file copied while it runs may hold only its header), a ring file
just rotated (tcpdump -G/-W writes the new file's header before its first
packet), or a capture stopped before the traffic happened.

Next: "capinfos FILE" confirms the packet count; "tcpdump -D" lists the
interfaces; try the capture filter live, "tcpdump -i IFACE -nn -c 10 'FILTER'",
and without it; for a ring, analyse the previous file or the whole directory;
stop tcpdump (or run it with -U, which writes each packet at once) before
copying the file.`,
	Severity: Warning,
	// All kinds: the rule checks that nothing at all happened.
	Events: []EventKind{EventFlow, EventDNS, EventHTTP, EventTLS, EventICMP},
	New:    func(p Params) Checker { return &captureEmpty{p: p} },
}

type captureEmpty struct {
	p      Params
	events int64
	facts  *RunInfo
}

func (c *captureEmpty) Event(*Event, func(Finding)) { c.events++ }

func (c *captureEmpty) Run(f RunInfo) { c.facts = &f }

func (c *captureEmpty) Finish(report func(Finding)) {
	// Only a driver that said what the capture held can call it empty (no
	// events alone could also be packets that made no flow: ARP, or
	// fragments never completed); any event means there were packets.
	if c.facts == nil || c.facts.Packets > 0 || c.events > 0 {
		return
	}
	f := c.facts
	var msg string
	switch len(f.Files) {
	case 0:
		msg = "no packets: every input file was skipped as empty or not a capture (" + nameList(f.Skipped) + ")"
	case 1:
		msg = f.Files[0] + " holds no packets: a valid capture file header and nothing after it"
	default:
		msg = fmt.Sprintf("none of the %d capture files (%s) holds a packet: each is a valid capture file header and nothing after it",
			len(f.Files), nameList(f.Files))
	}
	if f.OutsideWindow > 0 {
		// The files do hold packets: the window left them all out.
		msg = fmt.Sprintf("no packets in the time window (--since/--until): all %d packets of %s are outside it", f.OutsideWindow, nameList(f.Files))
	}
	if len(f.Files) > 0 && len(f.Skipped) > 0 {
		msg += fmt.Sprintf("; %d more %s skipped as empty or not a capture (%s)", len(f.Skipped), plural(len(f.Skipped), "file was", "files were"), nameList(f.Skipped))
	}
	report(Finding{
		Rule:     CaptureEmpty.ID,
		Severity: c.p.Severity,
		Title:    CaptureEmpty.Title,
		Message:  msg,
		Count:    1,
		Evidence: evidence(),
		// "frame" shows every frame of the capture: in Wireshark, the
		// empty list that is the evidence.
		Filter: "frame",
	})
}

// nameList names up to three files, then how many more.
func nameList(names []string) string {
	const show = 3
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
