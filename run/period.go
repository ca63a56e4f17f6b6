package run

import (
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
)

// Period is what one step of a followed capture (pcapx watch, see
// docs/watch.md) counted of one period of capture time: the packets of
// the files new in that step whose timestamps fall in the period, and the
// components' counters over those packets. The steps of one period add
// up (Add) to its Capture and Timeline when the period is written.
type Period struct {
	Start   int64             `json:"start_ns"`
	Files   []PeriodFile      `json:"files"`
	Packets int64             `json:"packets"`
	Bytes   int64             `json:"bytes"`
	FirstNS int64             `json:"first_ns"`
	LastNS  int64             `json:"last_ns"`
	Decode  flows.DecodeStats `json:"decode"`
	Streams streams.Stats     `json:"streams"`
	Flows   int64             `json:"flows"`   // flows created
	Evicted int64             `json:"evicted"` // flows pushed out of a full table
	// Forgotten: closed connections' tombstones dropped at the bound.
	Forgotten int64 `json:"forgotten,omitempty"`
	Peak      int   `json:"peak"` // most flows active at once
	// Timeline begins at Start, so that the steps' timelines merge.
	Timeline Timeline `json:"timeline"`
}

// PeriodFile is one input file's share of a period.
type PeriodFile struct {
	Name      string   `json:"name"`
	Format    string   `json:"format"`
	Packets   int64    `json:"packets"`
	Bytes     int64    `json:"bytes"`
	LinkTypes []string `json:"link_types"`
}

// AddPacket counts one packet of the named file in the period.
func (p *Period) AddPacket(file string, ts int64, wire int) {
	if p.Packets == 0 || ts < p.FirstNS {
		p.FirstNS = ts
	}
	if p.Packets == 0 || ts > p.LastNS {
		p.LastNS = ts
	}
	p.Packets++
	p.Bytes += int64(wire)
	f := p.file(file)
	f.Packets++
	f.Bytes += int64(wire)
}

// file is the named file's entry, added if new (files in order of their
// first packet in the period).
func (p *Period) file(name string) *PeriodFile {
	for i := len(p.Files) - 1; i >= 0; i-- {
		if p.Files[i].Name == name {
			return &p.Files[i]
		}
	}
	p.Files = append(p.Files, PeriodFile{Name: name})
	return &p.Files[len(p.Files)-1]
}

// Add adds another step's counts of the same period to p.
func (p *Period) Add(o *Period) {
	if o.Packets > 0 {
		if p.Packets == 0 || o.FirstNS < p.FirstNS {
			p.FirstNS = o.FirstNS
		}
		if p.Packets == 0 || o.LastNS > p.LastNS {
			p.LastNS = o.LastNS
		}
	}
	p.Packets += o.Packets
	p.Bytes += o.Bytes
	for _, f := range o.Files {
		g := p.file(f.Name)
		if g.Format == "" {
			g.Format, g.LinkTypes = f.Format, f.LinkTypes
		}
		g.Packets += f.Packets
		g.Bytes += f.Bytes
	}
	p.Decode.Add(&o.Decode)
	p.Streams.Add(&o.Streams)
	p.Flows += o.Flows
	p.Evicted += o.Evicted
	p.Forgotten += o.Forgotten
	p.Peak = max(p.Peak, o.Peak)
	p.Timeline.Merge(&o.Timeline)
}
