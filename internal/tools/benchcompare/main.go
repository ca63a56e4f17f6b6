// Command benchcompare times pcapx against the raw read loop and tshark on
// one capture: it runs each command a few times, rounds interleaved so that
// the machine's drift touches every row alike, and prints for each the median
// wall time (with the range), the median peak RSS, and the ratios that say
// what the analysis costs: each pcapx run against the read loop, tshark
// against pcapx analyze, and --workers N against --workers 1. `make
// bench-compare` runs it on the generated 1 GB capture; docs/tools.md
// says what each row runs.
//
//	go run ./internal/tools/benchcompare -pcapx bin/pcapx -readloop bin/readloop FILE
//
// It measures the child processes itself (wall clock around start and wait,
// peak RSS from the rusage wait4 returns) rather than through GNU time, so
// it needs nothing but Go and prints one table from one run. Standard output
// of every command goes to /dev/null; -o writes into a fresh temporary
// directory per run. The --workers rows appear when `pcapx analyze --help`
// lists a --workers flag; the tshark row when tshark is on the PATH.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	readLoop    = "raw read loop (internal/tools/readloop)"
	analyzeText = "pcapx analyze (text summary)"
)

type row struct {
	name string
	argv []string // "{out}" is replaced by a fresh directory per run
	// of names the row the ratio divides by, and how to say it.
	of, per string
	inv     bool // ratio is of's time / this row's (a speed-up)
	times   []time.Duration
	rss     []int64 // bytes
}

func main() {
	pcapx := flag.String("pcapx", "bin/pcapx", "the pcapx binary")
	readloop := flag.String("readloop", "bin/readloop", "the read-loop binary (go build ./internal/tools/readloop)")
	runs := flag.Int("runs", 3, "runs of each command")
	workers := flag.Int("workers", runtime.NumCPU(), "N of the --workers N row")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchcompare [flags] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(1)
	}
	file := flag.Arg(0)
	if err := compare(*pcapx, *readloop, file, *runs, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

func compare(pcapx, readloop, file string, runs, workers int) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	help, err := exec.Command(pcapx, "analyze", "--help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s analyze --help: %v", pcapx, err)
	}
	hasWorkers := bytes.Contains(help, []byte("--workers"))
	tshark, tsharkErr := exec.LookPath("tshark")

	rows := []*row{
		{name: readLoop, argv: []string{readloop, file}},
		{name: analyzeText, argv: []string{pcapx, "analyze", file}, of: readLoop, per: "read loop"},
		{name: "pcapx analyze --format json", argv: []string{pcapx, "analyze", "--format", "json", file}, of: readLoop, per: "read loop"},
		{name: "pcapx analyze -o DIR", argv: []string{pcapx, "analyze", "-o", "{out}", file}, of: readLoop, per: "read loop"},
	}
	if hasWorkers {
		w1 := "pcapx analyze --workers 1"
		rows = append(rows,
			&row{name: w1, argv: []string{pcapx, "analyze", "--workers", "1", file}, of: readLoop, per: "read loop"},
			&row{name: fmt.Sprintf("pcapx analyze --workers %d", workers), argv: []string{pcapx, "analyze", "--workers", strconv.Itoa(workers), file}, of: w1, per: "speed-up over --workers 1", inv: true},
		)
	}
	if tsharkErr == nil {
		rows = append(rows, &row{name: "tshark -q -z expert", argv: []string{tshark, "-q", "-z", "expert", "-r", file}, of: analyzeText, per: "pcapx analyze"})
	}

	fmt.Printf("capture %s (%.2f GB), %d CPUs, load average %s at the start\n", file, float64(st.Size())/1e9, runtime.NumCPU(), loadavg())
	fmt.Printf("%d runs of each command (standard output to /dev/null), rounds interleaved, after one untimed read of the file; median (range)\n\n", runs)

	// One untimed read, so that every row finds the file in the page cache.
	if _, _, err := measure([]string{readloop, file}); err != nil {
		return err
	}
	for range runs {
		for _, r := range rows {
			d, rss, err := measure(r.argv)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			r.times = append(r.times, d)
			r.rss = append(r.rss, rss)
		}
	}

	byName := map[string]*row{}
	for _, r := range rows {
		byName[r.name] = r
	}
	fmt.Println("| run | wall time | peak RSS | ratio |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		ratio := ""
		if o := byName[r.of]; o != nil {
			x := seconds(median(r.times)) / seconds(median(o.times))
			if r.inv {
				x = 1 / x
			}
			ratio = fmt.Sprintf("%.1fx %s", x, r.per)
		}
		lo, hi := slices.Min(r.times), slices.Max(r.times)
		fmt.Printf("| %s | %.2f s (%.2f–%.2f) | %d MB | %s |\n", r.name, seconds(median(r.times)), seconds(lo), seconds(hi), median(r.rss)/1e6, ratio)
	}
	fmt.Println()
	if !hasWorkers {
		fmt.Println("pcapx analyze has no --workers flag: no --workers rows.")
	}
	if tsharkErr != nil {
		fmt.Println("tshark is not installed: no tshark row.")
	}
	return nil
}

// measure runs argv with standard output to /dev/null and returns its wall
// time and peak RSS.
func measure(argv []string) (time.Duration, int64, error) {
	args := slices.Clone(argv)
	for i, a := range args {
		if a == "{out}" {
			dir, err := os.MkdirTemp("", "benchcompare-")
			if err != nil {
				return 0, 0, err
			}
			defer os.RemoveAll(dir)
			args[i] = dir
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	defer null.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = null, &stderr
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return d, maxRSS(cmd.ProcessState), nil
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func median[T int64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// loadavg is the 1-minute load average, which says whether other work
// shared the machine.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
