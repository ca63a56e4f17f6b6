package watch

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// TestChunkKeepsWhatRulesSee runs every rule fixture twice: once as
// analyze does, and once with its records through a chunk of pending
// records and back into the rules, as a watch period's partition gets
// them. The findings (frames, details and all) must be the same: a chunk
// keeps every field a rule reads.
func TestChunkKeepsWhatRulesSee(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "captures", "rules", "*.pcap*"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "captures", "app", "*.pcap*"))
	files = append(files, more...)
	if len(files) < 20 {
		t.Fatalf("%d fixtures", len(files))
	}
	whole := func(int64) (int64, int64) { return 0, math.MaxInt64 }
	for _, f := range files {
		want, err := analyze.Run(analyze.Config{Inputs: []string{f}, Workers: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "chunk.gob")
		var c *chunkWriter
		res, err := analyze.Run(analyze.Config{Inputs: []string{f}, Workers: 1, Follow: &analyze.Follow{
			New: func(string) bool { return true }, Period: whole, Drain: true,
			Sink: func(int64) (run.Sink, error) {
				c, err = newChunk(path, []string{f})
				return c, err
			},
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c == nil {
			continue // no records
		}
		if err := c.close(); err != nil {
			t.Fatal(err)
		}
		engine, err := rules.NewEngine(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := replayChunk(path, engine, func(_ []string, i int) int { return i }); err != nil {
			t.Fatal(err)
		}
		cp := &res.Capture
		engine.SetRun(rules.RunInfo{Packets: cp.Packets, TruncatedFrames: cp.Truncated, FirstNS: cp.FirstNS, LastNS: cp.LastNS, Files: []string{f}, Shed: analyze.Shed(res)})
		got := engine.Finish()
		wj, _ := json.Marshal(want.Findings)
		gj, _ := json.Marshal(got)
		if string(wj) != string(gj) {
			t.Errorf("%s: findings differ after a chunk:\nrun   %s\nchunk %s", filepath.Base(f), wj, gj)
		}
	}
}

// TestReplayChunkRemapsFiles: replayed records name the period's files,
// whatever the kind of record.
func TestReplayChunkRemapsFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chunk.gob")
	c, err := newChunk(path, []string{"a.pcap", "b.pcap"})
	if err != nil {
		t.Fatal(err)
	}
	c.Flow(&flows.Record{FirstFile: 1})
	c.HTTP(&flows.HTTPRecord{RequestFrame: flows.FrameRef{File: 1, Frame: 7}})
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	got := &collect{}
	if err := replayChunk(path, got, func(step []string, i int) int {
		if step[i] != "b.pcap" {
			t.Errorf("file %d is %q", i, step[i])
		}
		return 5
	}); err != nil {
		t.Fatal(err)
	}
	if len(got.flows) != 1 || got.flows[0].FirstFile != 5 || len(got.http) != 1 || got.http[0].RequestFrame.File != 5 {
		t.Errorf("replayed: %+v %+v", got.flows, got.http)
	}
}

type collect struct {
	flows []*flows.Record
	http  []*flows.HTTPRecord
}

func (c *collect) Flow(r *flows.Record) error     { c.flows = append(c.flows, r); return nil }
func (c *collect) DNS(*flows.DNSRecord) error     { return nil }
func (c *collect) HTTP(r *flows.HTTPRecord) error { c.http = append(c.http, r); return nil }
func (c *collect) TLS(*flows.TLSRecord) error     { return nil }
