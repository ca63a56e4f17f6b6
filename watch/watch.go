// Package watch follows a directory that a capture ring (tcpdump -G,
// dumpcap -b) keeps writing, and writes a Hive partition of tables and a
// report for every period of capture time that has ended (pcapx watch;
// docs/watch.md). Each Step reads the files completed since the last one
// — with analyze.Follow, so flows continue across files and every packet
// is counted once — keeps the records of the periods still open in
// OUT/.pcapx-watch until they end, and saves its state there, so that a
// step in a new process (cron, a restart) goes on where the last ended.
package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/report/parquet"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// Config is what a step does.
type Config struct {
	Dir, Out string
	Periods  Periods
	// Settle is how long the newest file must be unchanged to count as
	// complete when no newer file exists (default 1 min).
	Settle time.Duration
	// Drain treats every file as complete and ends the capture: the flows
	// still open end, and every period with packets is written.
	Drain bool
	// Partition is added under each period's partition (host=web1).
	Partition string
	// Analyze holds the analysis settings (rules, flow table, workers).
	Analyze analyze.Config
	// Render makes report.html for a period's result.
	Render func(*run.Result) ([]byte, error)
	// Version is written into the capture table.
	Version string
	// MaxRows is the Parquet row group size (0: report/parquet's default).
	MaxRows int
	// Now is the wall clock (for Settle; default time.Now).
	Now func() time.Time
}

// Report is what a step did.
type Report struct {
	Read     []string // files read for the first time
	Reread   []string // files read again to rebuild flows left open
	Waiting  []string // files not complete yet
	Written  []string // partitions written (paths under Out)
	Open     int      // periods with packets or records still open
	Warnings []string
}

const (
	stateDir     = ".pcapx-watch"
	stateFile    = "state.json"
	stateVersion = 1
)

// state is what a step leaves for the next, in OUT/.pcapx-watch.
type state struct {
	Version  int    `json:"version"`
	Every    string `json:"every"`
	Location string `json:"location"`
	Step     int64  `json:"step"`
	// Consumed are the files read, by first packet time; Waiting those
	// seen but not complete (to notice one removed before it was read).
	Consumed []fileState `json:"consumed"`
	Waiting  []fileState `json:"waiting"`
	// Done: the periods starting before it are written.
	Done int64 `json:"done_ns"`
	// Watermark: every record completed before this capture time is kept
	// (in a chunk or a partition).
	Watermark  int64         `json:"watermark_ns"`
	OpenFrom   int64         `json:"open_from_ns"`
	NextStream int64         `json:"next_stream"`
	Open       []*openPeriod `json:"open"`
}

// fileState identifies a file of the ring: a ring reuses names (tcpdump
// -C -W), so the inode and the first packet time tell files apart.
type fileState struct {
	Name    string `json:"name"`
	Inode   uint64 `json:"inode"`
	Size    int64  `json:"size"`
	ModNS   int64  `json:"mod_ns"`
	FirstNS int64  `json:"first_ns"`
	LastNS  int64  `json:"last_ns,omitempty"`
}

// has says whether list holds the file f (same name, inode and first
// packet).
func has(list []fileState, f fileState) bool {
	return slices.ContainsFunc(list, func(o fileState) bool {
		return f.Name == o.Name && f.Inode == o.Inode && f.FirstNS == o.FirstNS
	})
}

// openPeriod is a period not written yet: its counts so far, its chunks
// of records, and the warnings that belong to it.
type openPeriod struct {
	Stats    *run.Period `json:"stats"`
	Chunks   []string    `json:"chunks"`
	Warnings []string    `json:"warnings"`
}

// Step does one step: read what is complete, write the periods that have
// ended, save the state. An error leaves the state as the last step saved
// it (and every partition written before intact): the next step does
// this one's work again.
func Step(cfg Config) (*Report, error) {
	if cfg.Settle <= 0 {
		cfg.Settle = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Periods.Loc == nil {
		cfg.Periods.Loc = time.Local
	}
	sd := filepath.Join(cfg.Out, stateDir)
	if err := os.MkdirAll(filepath.Join(sd, "pending"), 0o755); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(sd, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	defer lf.Close()
	if err := lock(lf); err != nil {
		return nil, fmt.Errorf("watch %s: %w", cfg.Out, err)
	}
	st, err := loadState(sd, &cfg)
	if err != nil {
		return nil, err
	}
	removeStaging(sd)
	w := &stepper{cfg: &cfg, st: st, sd: sd, rep: &Report{}}
	if err := w.run(); err != nil {
		return nil, err
	}
	if err := saveState(sd, st); err != nil {
		return nil, err
	}
	w.rep.Open = len(st.Open)
	return w.rep, nil
}

func loadState(sd string, cfg *Config) (*state, error) {
	st := &state{Version: stateVersion, Every: cfg.Periods.Every.String(), Location: cfg.Periods.Loc.String()}
	b, err := os.ReadFile(filepath.Join(sd, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("watch state: %w", err)
	}
	var saved state
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Errorf("watch state %s: %w", filepath.Join(sd, stateFile), err)
	}
	if saved.Version != stateVersion {
		return nil, fmt.Errorf("watch state %s: version %d, this pcapx reads %d", filepath.Join(sd, stateFile), saved.Version, stateVersion)
	}
	if saved.Every != st.Every || saved.Location != st.Location {
		return nil, fmt.Errorf("watch: %s was written with --every %s in %s, not %s in %s: use another output directory (or remove %s to start over)",
			cfg.Out, saved.Every, saved.Location, st.Every, st.Location, sd)
	}
	return &saved, nil
}

// saveState replaces the state file atomically.
func saveState(sd string, st *state) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("watch state: %w", err)
	}
	tmp := filepath.Join(sd, stateFile+".tmp")
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("watch state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(sd, stateFile)); err != nil {
		return fmt.Errorf("watch state: %w", err)
	}
	syncDir(sd)
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// removeStaging removes the partitions a killed step left half written.
func removeStaging(sd string) {
	ents, _ := os.ReadDir(sd)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "staging-") || strings.HasPrefix(e.Name(), "replaced-") {
			os.RemoveAll(filepath.Join(sd, e.Name()))
		}
	}
}

// stepper is one step's work.
type stepper struct {
	cfg *Config
	st  *state
	sd  string
	rep *Report
}

func (w *stepper) warn(format string, args ...any) {
	w.rep.Warnings = append(w.rep.Warnings, fmt.Sprintf(format, args...))
}

func (w *stepper) run() error {
	st, cfg := w.st, w.cfg
	st.Step++
	listed, err := w.scan()
	if err != nil {
		return err
	}
	// Which files are new, and which of those complete: all but the
	// newest (by first packet), which is complete once unchanged for
	// Settle, or when draining.
	var newest int64
	for i := range listed {
		newest = max(newest, listed[i].FirstNS)
	}
	now := cfg.Now().UnixNano()
	var fresh, waiting []fileState
	for _, f := range listed {
		if has(st.Consumed, f) {
			continue
		}
		if cfg.Drain || f.FirstNS < newest || now-f.ModNS >= int64(cfg.Settle) {
			fresh = append(fresh, f)
		} else {
			waiting = append(waiting, f)
			w.rep.Waiting = append(w.rep.Waiting, f.Name)
		}
	}
	// A file seen waiting that is gone unread: the ring overwrote it.
	for _, f := range st.Waiting {
		if !has(listed, f) && !has(st.Consumed, f) {
			msg := fmt.Sprintf("%s: removed before pcapx read it (the ring overwrote it?): its packets are missing", f.Name)
			w.warn("%s", msg)
			if p := w.open(w.periodOf(f.FirstNS)); p != nil {
				p.Warnings = append(p.Warnings, msg)
			}
		}
	}
	st.Waiting = waiting
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].FirstNS < fresh[j].FirstNS })

	// The files to read again: those holding the first packets of the
	// flows the last step left open.
	var reread []fileState
	if st.OpenFrom != 0 {
		for _, f := range st.Consumed {
			if f.LastNS >= st.OpenFrom {
				reread = append(reread, f)
			}
		}
		present := reread[:0]
		for _, f := range reread {
			if has(listed, f) {
				present = append(present, f)
			} else {
				w.warn("%s: read before and gone now (the ring overwrote it?): flows still open that began in it lack its packets, and those with none since are lost", f.Name)
			}
		}
		reread = present
	}
	if len(fresh) == 0 && !(cfg.Drain && (st.OpenFrom != 0 || len(st.Open) > 0)) {
		return nil // nothing new: nothing ends either
	}

	if err := w.analyse(fresh, reread); err != nil {
		return err
	}

	// The capture time up to which everything is read: the first packet
	// of the oldest file still being written, or the last packet read.
	// (Only the newest file can be incomplete, so every packet before its
	// first is in a file read.)
	wm := st.Watermark
	for _, f := range fresh {
		wm = max(wm, f.LastNS+1)
	}
	if len(waiting) > 0 {
		first := waiting[0].FirstNS
		for _, f := range waiting {
			first = min(first, f.FirstNS)
		}
		wm = max(wm, first)
	}
	if cfg.Drain {
		wm = math.MaxInt64
	}
	st.Watermark = max(st.Watermark, wm)
	return w.writeEnded()
}

// scan lists the capture files in the directory with their first packet
// time (probed once per file and kept in the state).
func (w *stepper) scan() ([]fileState, error) {
	ents, err := os.ReadDir(w.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	outAbs, _ := filepath.Abs(w.cfg.Out)
	known := append(slices.Clone(w.st.Consumed), w.st.Waiting...)
	var out []fileState
	for _, e := range ents {
		name := filepath.Join(w.cfg.Dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		if abs, _ := filepath.Abs(name); abs == outAbs {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed since listed
		}
		f := fileState{Name: name, Inode: inode(fi), Size: fi.Size(), ModNS: fi.ModTime().UnixNano()}
		if i := slices.IndexFunc(known, func(k fileState) bool {
			return k.Name == f.Name && k.Inode == f.Inode && k.Size == f.Size && k.ModNS == f.ModNS
		}); i >= 0 {
			f.FirstNS, f.LastNS = known[i].FirstNS, known[i].LastNS
			out = append(out, f)
			continue
		}
		first, ok := firstPacket(name)
		if !ok {
			continue // no packet yet (a file just opened), or not a capture
		}
		f.FirstNS = first
		if i := slices.IndexFunc(known, func(k fileState) bool { return k.Name == f.Name && k.Inode == f.Inode && k.FirstNS == first }); i >= 0 {
			f.LastNS = known[i].LastNS
		}
		out = append(out, f)
	}
	return out, nil
}

// firstPacket is the time of the file's first packet, if it has one.
func firstPacket(name string) (int64, bool) {
	rd, err := source.Open([]string{name}, source.Options{})
	if err != nil {
		return 0, false
	}
	defer rd.Close()
	p, err := rd.Next()
	if err != nil {
		return 0, false
	}
	return p.Timestamp, true
}

func (w *stepper) periodOf(ts int64) int64 {
	s, _ := w.cfg.Periods.Of(ts)
	return s
}

// open is the open period starting at start (made if new), or nil when
// that period is written already.
func (w *stepper) open(start int64) *openPeriod {
	if start < w.st.Done {
		return nil
	}
	for _, p := range w.st.Open {
		if p.Stats.Start == start {
			return p
		}
	}
	p := &openPeriod{Stats: &run.Period{Start: start}}
	p.Stats.Timeline.Begin(start)
	w.st.Open = append(w.st.Open, p)
	sort.Slice(w.st.Open, func(i, j int) bool { return w.st.Open[i].Stats.Start < w.st.Open[j].Stats.Start })
	return p
}

// analyse reads the files: the fresh ones counted, the others only to
// rebuild open flows.
func (w *stepper) analyse(fresh, reread []fileState) error {
	st, cfg := w.st, w.cfg
	var inputs []string
	isNew := map[string]bool{}
	for _, f := range reread {
		inputs = append(inputs, f.Name)
		w.rep.Reread = append(w.rep.Reread, f.Name)
	}
	for _, f := range fresh {
		inputs = append(inputs, f.Name)
		isNew[f.Name] = true
		w.rep.Read = append(w.rep.Read, f.Name)
	}
	if len(inputs) == 0 {
		return nil
	}
	chunks := map[int64]*chunkWriter{}
	var late int64
	closeChunks := func() error {
		var first error
		for _, c := range chunks {
			if err := c.close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	acfg := cfg.Analyze
	acfg.Inputs = inputs
	acfg.Follow = &analyze.Follow{
		New:         func(name string) bool { return isNew[name] },
		Period:      cfg.Periods.Of,
		Drain:       cfg.Drain,
		FirstStream: st.NextStream,
		Sink: func(start int64) (run.Sink, error) {
			if start < st.Done {
				return dropped{&late}, nil
			}
			c, err := newChunk(filepath.Join(w.sd, "pending", fmt.Sprintf("%d-%d.gob", start, st.Step)), inputs)
			if err != nil {
				return nil, err
			}
			chunks[start] = c
			return c, nil
		},
	}
	res, err := analyze.Run(acfg, nil)
	if cerr := closeChunks(); err == nil {
		err = cerr
	}
	if err != nil {
		for _, c := range chunks {
			os.Remove(c.path)
		}
		return fmt.Errorf("watch: %w", err)
	}
	for start, c := range chunks {
		p := w.open(start)
		p.Chunks = append(p.Chunks, filepath.Base(c.path))
	}
	var latePackets int64
	var firstOpen *openPeriod
	for _, ps := range res.Periods {
		p := w.open(ps.Start)
		if p == nil {
			latePackets += ps.Packets
			continue
		}
		p.Stats.Add(ps)
		if firstOpen == nil {
			firstOpen = p
		}
	}
	if firstOpen == nil && len(st.Open) > 0 {
		firstOpen = st.Open[len(st.Open)-1]
	}
	var warnings []string
	warnings = append(warnings, res.Capture.Warnings...)
	if latePackets > 0 || late > 0 {
		warnings = append(warnings, fmt.Sprintf("%d packets and %d records fall in periods already written (a file that came late, or timestamps that went back): not counted", latePackets, late))
	}
	for _, m := range warnings {
		w.warn("%s", m)
		if firstOpen != nil {
			firstOpen.Warnings = append(firstOpen.Warnings, m)
		}
	}
	// Remember what was read: the files (with their last packet time,
	// for the next step's re-reading) and where the next step goes on.
	for _, f := range fresh {
		f.LastNS = res.FileLastNS[f.Name]
		st.Consumed = append(st.Consumed, f)
	}
	// The files no longer in the directory cannot be read again; the
	// others are kept (their identity tells them from a later file of
	// the same name).
	kept := st.Consumed[:0]
	listedNow := append(slices.Clone(fresh), reread...)
	for _, f := range st.Consumed {
		if has(listedNow, f) || exists(f) {
			kept = append(kept, f)
		}
	}
	st.Consumed = kept
	sort.Slice(st.Consumed, func(i, j int) bool { return st.Consumed[i].FirstNS < st.Consumed[j].FirstNS })
	st.OpenFrom, st.NextStream = res.OpenFromNS, res.NextStream
	if cfg.Drain {
		st.OpenFrom = 0
	}
	return nil
}

// exists says whether the file is still in place.
func exists(f fileState) bool {
	fi, err := os.Stat(f.Name)
	return err == nil && inode(fi) == f.Inode
}

// writeEnded writes the partition of every open period that ended before
// the watermark, oldest first.
func (w *stepper) writeEnded() error {
	st := w.st
	for len(st.Open) > 0 {
		p := st.Open[0]
		_, end := w.cfg.Periods.Of(p.Stats.Start)
		if end > st.Watermark {
			break
		}
		dir, err := w.writePeriod(p)
		if err != nil {
			return err
		}
		w.rep.Written = append(w.rep.Written, dir)
		st.Open = st.Open[1:]
		st.Done = end
		for _, c := range p.Chunks {
			os.Remove(filepath.Join(w.sd, "pending", c))
		}
		// Saved after each partition: a step killed later does not write
		// this one again.
		if err := saveState(w.sd, st); err != nil {
			return err
		}
	}
	return nil
}

// writePeriod writes the period's partition: the tables from its
// records, through the rules and the summariser as in analyze, and the
// page; into a staging directory renamed into place when complete.
func (w *stepper) writePeriod(p *openPeriod) (string, error) {
	cfg := w.cfg
	part := cfg.Periods.Partition(p.Stats.Start)
	if cfg.Partition != "" {
		part += "/" + cfg.Partition
	}
	final := filepath.Join(cfg.Out, filepath.FromSlash(part))
	staging := filepath.Join(w.sd, fmt.Sprintf("staging-%d", p.Stats.Start))
	pw, err := parquet.New(staging, parquet.Options{Version: cfg.Version, MaxRows: cfg.MaxRows})
	if err != nil {
		return "", err
	}
	defer pw.Abort()
	engine, err := rules.NewEngine(cfg.Analyze.Rules)
	if err != nil {
		return "", err
	}
	sum := run.NewSummariser(run.Options{TopTalkers: cfg.Analyze.TopTalkers})
	sink := run.Tee(engine, sum, pw)

	// The period's files: those its packets came from, then those only
	// its records' frames name (read again to rebuild a flow).
	r := &run.Result{}
	c := &r.Capture
	for _, f := range p.Stats.Files {
		c.Files = append(c.Files, run.File{Name: f.Name, Format: f.Format, Packets: f.Packets, LinkTypes: nonNil(f.LinkTypes)})
	}
	index := map[string]int{}
	for k, f := range c.Files {
		index[f.Name] = k
	}
	fileIndex := func(step []string, i int) int {
		k, ok := index[step[i]]
		if !ok {
			k = len(c.Files)
			index[step[i]] = k
			c.Files = append(c.Files, run.File{Name: step[i], LinkTypes: []string{}})
		}
		return k
	}
	for _, ch := range p.Chunks {
		if err := replayChunk(filepath.Join(w.sd, "pending", ch), sink, fileIndex); err != nil {
			return "", err
		}
	}
	fillResult(r, p)
	sum.Summarise(r)
	info := rules.RunInfo{Packets: c.Packets, TruncatedFrames: c.Truncated, FirstNS: c.FirstNS, LastNS: c.LastNS, Shed: analyze.Shed(r)}
	for _, f := range c.Files {
		info.Files = append(info.Files, f.Name)
	}
	engine.SetRun(info)
	r.Findings = engine.Finish()
	r.Suppressed, r.Omitted, r.RuleWarnings = engine.Suppressed, engine.Omitted, engine.Warnings

	if cfg.Render != nil {
		page, err := cfg.Render(r)
		if err != nil {
			return "", err
		}
		if err := pw.AddFile("report.html", func(out io.Writer) error {
			_, err := out.Write(page)
			return err
		}); err != nil {
			return "", err
		}
	}
	if err := pw.Finish(r); err != nil {
		return "", err
	}
	if err := replaceDir(staging, final, w.sd); err != nil {
		return "", err
	}
	return part, nil
}

// fillResult sets what the run counted of the period (the records gave
// the rest).
func fillResult(r *run.Result, p *openPeriod) {
	s, c := p.Stats, &r.Capture
	c.Packets, c.Bytes = s.Packets, s.Bytes
	if s.Packets > 0 {
		c.FirstNS, c.LastNS = s.FirstNS, s.LastNS
		c.First, c.Last = formatNS(s.FirstNS), formatNS(s.LastNS)
		c.Duration = float64(s.LastNS-s.FirstNS) / 1e9
	}
	c.LinkTypes = []string{}
	for _, f := range s.Files {
		for _, lt := range f.LinkTypes {
			if !slices.Contains(c.LinkTypes, lt) {
				c.LinkTypes = append(c.LinkTypes, lt)
			}
		}
	}
	d := s.Decode
	c.NotIP, c.Malformed, c.Fragments, c.Truncated = d.NotIP, d.Malformed, d.Fragments, d.Truncated
	c.FragmentsDropped, c.FragmentsOverlapping, c.FragmentsOverLimit = d.FragDropped, d.FragOverlap, d.FragOverLimit
	c.Flows, c.Evicted, c.PeakFlows = s.Flows, s.Evicted, s.Peak
	c.ReassemblySkips, c.ParsersStopped, c.DNSQueriesDropped = s.Streams.BoundSkips, s.Streams.ParsersStopped, s.Streams.DNSOverflow
	c.Warnings = append([]string{}, p.Warnings...)
	c.Warnings = append(c.Warnings, analyze.TableWarnings(c.Evicted, s.Forgotten)...)
	r.Decode, r.Streams, r.Timeline = d, s.Streams, s.Timeline
	r.Table.Flows, r.Table.Evicted, r.Table.Peak = s.Flows, s.Evicted, s.Peak
}

func formatNS(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// replaceDir puts the complete directory from in place of to: renamed
// when to does not exist; otherwise the old one is moved aside first (a
// step killed after writing a partition and before saving its state
// writes it again), so that to is always a whole partition.
func replaceDir(from, to, sd string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if _, err := os.Stat(to); err == nil {
		aside := filepath.Join(sd, "replaced-"+filepath.Base(from))
		if err := os.Rename(to, aside); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		defer os.RemoveAll(aside)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	syncDir(filepath.Dir(to))
	return nil
}
