// Package tshark runs Wireshark's tshark for tests that check pcapx's
// display filters against the real thing. Every call is one tshark run
// (about a second, most of it start-up), so the helpers check many filters
// per run.
package tshark

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Available says whether tshark is installed.
func Available() bool {
	_, err := exec.LookPath("tshark")
	return err == nil
}

// Count returns how many frames of the capture each display filter shows,
// as Wireshark shows them: two passes, so that fields naming later frames
// (dns.response_in, http.response_in) are known. One tshark run counts
// every filter (its io,stat statistic takes a list); a filter with a comma
// (io,stat's separator) is run on its own, and so is every filter when the
// capture spans no time (io,stat then has no interval to report). An
// invalid filter is an error naming it.
func Count(capfile string, filters []string) ([]int64, error) {
	counts := make([]int64, len(filters))
	var batch []int
	for i, f := range filters {
		if strings.Contains(f, ",") {
			n, err := countOne(capfile, f)
			if err != nil {
				return nil, err
			}
			counts[i] = n
		} else {
			batch = append(batch, i)
		}
	}
	if len(batch) == 0 {
		return counts, nil
	}
	arg := "io,stat,0"
	for _, i := range batch {
		arg += "," + filters[i]
	}
	out, err := exec.Command("tshark", "-2", "-n", "-q", "-r", capfile, "-z", arg).CombinedOutput()
	row := dataRow(out)
	if err != nil || bytes.Contains(out, []byte("Couldn't register io,stat tap")) || row == nil || len(row) != 2*len(batch) {
		// Find the filter at fault, or count without io,stat.
		for _, i := range batch {
			n, err := countOne(capfile, filters[i])
			if err != nil {
				return nil, err
			}
			counts[i] = n
		}
		return counts, nil
	}
	for k, i := range batch {
		n, err := strconv.ParseInt(row[2*k], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tshark io,stat: column %d: %q", k+1, row[2*k])
		}
		counts[i] = n
	}
	return counts, nil
}

// dataRow returns the cells (frames, bytes for each filter) of io,stat's
// one interval row: "| 0.000 <> 5.295 |      1 |    75 | ...".
func dataRow(out []byte) []string {
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.Contains(l, "<>") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		var row []string
		for _, c := range cells[1:] {
			if c = strings.TrimSpace(c); c != "" {
				row = append(row, c)
			}
		}
		return row
	}
	return nil
}

// countOne runs one filter with -Y.
func countOne(capfile, filter string) (int64, error) {
	cmd := exec.Command("tshark", "-2", "-n", "-r", capfile, "-Y", filter, "-T", "fields", "-e", "frame.number")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("tshark -Y %q: %v: %s", filter, err, strings.TrimSpace(stderr.String()))
	}
	return int64(len(strings.Fields(string(out)))), nil
}

// ReassembledIn maps the frames whose TCP payload Wireshark reassembles
// into a later frame (the first segments of a message) to that frame,
// where the message's fields are.
func ReassembledIn(capfile string) (map[int64]int64, error) {
	out, err := exec.Command("tshark", "-2", "-n", "-r", capfile, "-Y", "tcp.reassembled_in", "-T", "fields", "-e", "frame.number", "-e", "tcp.reassembled_in").Output()
	if err != nil {
		return nil, fmt.Errorf("tshark tcp.reassembled_in: %v", err)
	}
	m := map[int64]int64{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		a, err1 := strconv.ParseInt(f[0], 10, 64)
		b, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 == nil && err2 == nil {
			m[a] = b
		}
	}
	return m, nil
}

// Field returns the values of a field in each frame, in frame order (one
// string per frame, "" where the frame has none; several values joined by
// ',').
func Field(capfile, field string) ([]string, error) {
	out, err := exec.Command("tshark", "-2", "-n", "-r", capfile, "-T", "fields", "-e", field).Output()
	if err != nil {
		return nil, fmt.Errorf("tshark -e %s: %v", field, err)
	}
	s := strings.TrimSuffix(string(out), "\n")
	return strings.Split(s, "\n"), nil
}
