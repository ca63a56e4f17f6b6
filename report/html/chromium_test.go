package html

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

// The browser check: the report is opened in headless Chromium inside a
// network namespace with no interfaces up (unshare -n), so nothing could be
// fetched even if the page tried. The page's own script records on <html>
// and <body> whether each chart drew (its canvas has a non-transparent
// pixel), any script error, CSP violation, or call to alert/confirm/prompt
// (which the hostile capture's payloads make); --dump-dom reads that back.
//
// It runs when chromium and unshare work (skips with a message otherwise).
// Screenshots are kept in $PCAPX_CHROMIUM_OUT, or in a new directory under
// the system's temp dir whose path the test logs. With
// PCAPX_BENCH_CAPTURE=/path/to/big.pcap it also measures the report of a
// large capture: its size (< 5 MB) and the time from DOMContentLoaded to
// every chart drawn (< 2 s).

// chromiumBin finds Chromium.
func chromiumBin() string {
	for _, p := range []string{os.Getenv("PCAPX_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

func needChromium(t *testing.T) string {
	t.Helper()
	bin := chromiumBin()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install chromium): browser check skipped")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not available: browser check skipped (it must run without network)")
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -n does not work here (%v: %s): browser check skipped", err, bytes.TrimSpace(out))
	}
	return bin
}

// artefactDir is where screenshots are kept after the test.
func artefactDir(t *testing.T) string {
	if d := os.Getenv("PCAPX_CHROMIUM_OUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "pcapx-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runChromium runs headless Chromium without network on a local file.
func runChromium(t *testing.T, bin string, extra ...string) (stdout, stderr []byte, elapsed time.Duration) {
	t.Helper()
	profile := t.TempDir()
	args := append([]string{"-n", bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
		"--disable-extensions", "--mute-audio",
		"--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	elapsed = time.Since(start)
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, tail(e.String(), 3000))
	}
	return o.Bytes(), e.Bytes(), elapsed
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// pageState is what the page recorded about itself.
type pageState struct {
	html, body map[string]string
	elements   map[string]int // element counts by tag name
}

func readDOM(t *testing.T, dom []byte) pageState {
	t.Helper()
	doc, err := xhtml.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("dumped DOM does not parse: %v", err)
	}
	st := pageState{html: map[string]string{}, body: map[string]string{}, elements: map[string]int{}}
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if n.Type == xhtml.ElementNode {
			st.elements[n.Data]++
			switch n.Data {
			case "html":
				if len(st.html) == 0 {
					for _, a := range n.Attr {
						st.html[a.Key] = a.Val
					}
				}
			case "body":
				if len(st.body) == 0 {
					for _, a := range n.Attr {
						st.body[a.Key] = a.Val
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return st
}

// pageConsole returns the console lines Chromium logged for the page.
func pageConsole(stderr []byte) []string {
	var out []string
	for _, l := range strings.Split(string(stderr), "\n") {
		if strings.Contains(l, "CONSOLE") && strings.Contains(l, "file://") {
			out = append(out, l)
		}
	}
	return out
}

// checkPage opens a report and fails on anything the page recorded.
func checkPage(t *testing.T, bin, path string, d *Data) pageState {
	t.Helper()
	dom, stderr, elapsed := runChromium(t, bin, "--dump-dom", "file://"+path)
	st := readDOM(t, dom)
	want := 0
	for _, c := range buildCharts(d) {
		if c.Option != nil {
			want++
		}
	}
	if st.body["data-charts"] != strconv.Itoa(want) || st.body["data-charts-drawn"] != strconv.Itoa(want) || st.body["data-charts-blank"] != "" {
		t.Errorf("charts: %s on the page, %s drawn, blank %q; want %d drawn", st.body["data-charts"], st.body["data-charts-drawn"], st.body["data-charts-blank"], want)
	}
	for _, a := range []string{"data-js-errors", "data-csp-violations", "data-alerts"} {
		if v, ok := st.html[a]; ok {
			t.Errorf("%s:\n%s", a, v)
		}
	}
	if st.html["class"] != "js" {
		t.Errorf("the page's script did not run (html class %q)", st.html["class"])
	}
	// Only the page's own elements: nothing from the capture became markup.
	for _, tag := range []string{"img", "svg", "iframe", "object", "embed", "form", "b"} {
		if n := st.elements[tag]; n > 0 {
			t.Errorf("%d <%s> elements in the page", n, tag)
		}
	}
	if n := st.elements["script"]; n != 4 {
		t.Errorf("%d <script> elements, want the page's 4", n)
	}
	if c := pageConsole(stderr); len(c) > 0 {
		t.Errorf("the page logged to the console:\n%s", strings.Join(c, "\n"))
	}
	t.Logf("%s: %d charts drawn; DOMContentLoaded→drawn %s ms, navigation→drawn %s ms; chromium ran %v",
		filepath.Base(path), want, st.body["data-draw-ms"], st.body["data-ready-ms"], elapsed.Round(time.Millisecond))
	return st
}

func screenshot(t *testing.T, bin, page, png string) {
	t.Helper()
	runChromium(t, bin, "--screenshot="+png, "--window-size=1366,2400", "file://"+page)
	if fi, err := os.Stat(png); err != nil || fi.Size() < 10000 {
		t.Fatalf("no screenshot at %s (%v)", png, err)
	}
	t.Logf("screenshot: %s", png)
}

func TestChromium(t *testing.T) {
	bin := needChromium(t)
	caps := filepath.Join(repoRoot(t), "testdata", "captures")
	out := artefactDir(t)
	t.Logf("screenshots and reports in %s", out)

	cases := []struct {
		name, capture string
		opts          renderOptions
	}{
		{"demo", "demo.pcapng", renderOptions{}},
		{"hostile", filepath.Join("app", "hostile-strings.pcap"), renderOptions{}},
		// Without the Content-Security-Policy: the escaping alone must
		// keep the payloads inert (with the policy they could not run
		// anyway).
		{"hostile-nocsp", filepath.Join("app", "hostile-strings.pcap"), renderOptions{noCSP: true}},
		// No packets: every chart says why it is missing; nothing breaks.
		{"empty", filepath.Join("bad", "header-only.pcap"), renderOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := analyseFile(t, filepath.Join(caps, c.capture), Options{})
			page := filepath.Join(out, c.name+".html")
			f, err := os.Create(page)
			if err != nil {
				t.Fatal(err)
			}
			if err := render(f, d, c.opts); err != nil {
				t.Fatal(err)
			}
			f.Close()
			checkPage(t, bin, page, d)
			if c.name == "demo" || c.name == "hostile" {
				screenshot(t, bin, page, filepath.Join(out, c.name+".png"))
			}
		})
	}

	// The page's own script, driven as a reader would: sort, filter,
	// copy, print. The test page is the demo report without its policy,
	// plus a script that acts and records what it saw.
	t.Run("interactions", func(t *testing.T) {
		d := analyseFile(t, filepath.Join(caps, "demo.pcapng"), Options{})
		var b bytes.Buffer
		if err := render(&b, d, renderOptions{noCSP: true}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(out, "interactions.html")
		os.WriteFile(path, withScript(b.Bytes(), interactJS), 0o644)
		dom, _, _ := runChromium(t, bin, "--virtual-time-budget=5000", "--dump-dom", "file://"+path)
		st := readDOM(t, dom)
		got := st.body["data-interact"]
		want := "desc=ok asc=ok filter=1 of 12 rows problems=ok copy=ok print=ok"
		if got != want {
			t.Errorf("interactions: got %q, want %q (errors: %q)", got, want, st.html["data-js-errors"])
		}
	})

	// No horizontal scrolling on a laptop screen or a smaller window, even
	// with the hostile capture's long unbroken strings.
	t.Run("layout", func(t *testing.T) {
		for _, name := range []string{"demo.pcapng", filepath.Join("app", "hostile-strings.pcap")} {
			d := analyseFile(t, filepath.Join(caps, name), Options{})
			var b bytes.Buffer
			if err := render(&b, d, renderOptions{noCSP: true}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(out, "layout.html")
			os.WriteFile(path, withScript(b.Bytes(), overflowJS), 0o644)
			for _, w := range []string{"1366,900", "800,600"} {
				dom, _, _ := runChromium(t, bin, "--window-size="+w, "--dump-dom", "file://"+path)
				if got := readDOM(t, dom).body["data-overflow"]; got != "none" {
					t.Errorf("%s at %s: horizontal overflow %q", name, w, got)
				}
			}
		}
	})

	// The check itself must catch what it is for: a page whose text did
	// run as script, and a page whose chart did not draw.
	t.Run("detects-injection", func(t *testing.T) {
		bad := filepath.Join(out, "selftest.html")
		os.WriteFile(bad, []byte(`<!DOCTYPE html><html><head><script>`+guardJS+`</script></head><body><img src=x onerror="alert(1)"><script>alert(2)</script><script>throw new Error("boom")</script></body></html>`), 0o644)
		dom, stderr, _ := runChromium(t, bin, "--dump-dom", "file://"+bad)
		st := readDOM(t, dom)
		if !strings.Contains(st.html["data-alerts"], "alert(1)") || !strings.Contains(st.html["data-alerts"], "alert(2)") {
			t.Errorf("the guard did not record the alerts: %q", st.html["data-alerts"])
		}
		if !strings.Contains(st.html["data-js-errors"], "boom") {
			t.Errorf("the guard did not record the error: %q", st.html["data-js-errors"])
		}
		if len(pageConsole(stderr)) == 0 {
			t.Error("chromium's console output was not seen")
		}
	})
}

// TestChromiumLargeCapture measures the report of a big capture (set
// PCAPX_BENCH_CAPTURE, e.g. .bench/mixed-1GB.pcap): under 5 MB, and every
// chart drawn within 2 s of DOMContentLoaded.
func TestChromiumLargeCapture(t *testing.T) {
	capture := os.Getenv("PCAPX_BENCH_CAPTURE")
	if capture == "" {
		t.Skip("set PCAPX_BENCH_CAPTURE to a large capture to measure the report")
	}
	bin := needChromium(t)
	out := artefactDir(t)
	start := time.Now()
	d := analyseFile(t, capture, Options{})
	analysed := time.Since(start)
	page := filepath.Join(out, "large.html")
	start = time.Now()
	if err := WriteFile(page, d); err != nil {
		t.Fatal(err)
	}
	rendered := time.Since(start)
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d packets, %d flows; analysis with the collector %v; page %.2f MB (%d flow rows, %d timing rows, %d findings) rendered in %v",
		filepath.Base(capture), d.Capture.Packets, d.Capture.Flows, analysed.Round(time.Millisecond),
		float64(fi.Size())/1e6, len(d.Flows), len(d.Timings), len(d.Findings), rendered.Round(time.Millisecond))
	if fi.Size() >= 5e6 {
		t.Errorf("report is %d bytes, want < 5 MB", fi.Size())
	}
	// Median of three loads: the first also warms the disk cache.
	var draws []float64
	for i := 0; i < 3; i++ {
		st := checkPage(t, bin, page, d)
		ms, err := strconv.ParseFloat(st.body["data-draw-ms"], 64)
		if err != nil {
			t.Fatalf("no draw time recorded: %v", err)
		}
		draws = append(draws, ms)
	}
	med := median(draws)
	t.Logf("DOMContentLoaded→charts drawn: %v ms, median %.0f ms", draws, med)
	if med >= 2000 {
		t.Errorf("charts drawn %.0f ms after DOMContentLoaded, want < 2000", med)
	}
	screenshot(t, bin, page, filepath.Join(out, "large.png"))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// interactJS drives the demo report's flow table and buttons.
const interactJS = `document.addEventListener("DOMContentLoaded", function () {
  var r = [];
  var table = document.getElementById("flow-table");
  var bytesTh = table.tHead.rows[0].cells[5];
  function col(i) {
    return Array.prototype.filter.call(table.tBodies[0].rows, function (x) { return !x.hidden; })
      .map(function (x) { return parseFloat(x.cells[i].getAttribute("data-v")); });
  }
  function sorted(v, desc) {
    for (var i = 1; i < v.length; i++) if (desc ? v[i - 1] < v[i] : v[i - 1] > v[i]) return false;
    return v.length > 1;
  }
  bytesTh.querySelector("button").click();
  r.push("desc=" + (sorted(col(5), true) && bytesTh.getAttribute("aria-sort") === "descending" ? "ok" : "bad"));
  bytesTh.querySelector("button").click();
  r.push("asc=" + (sorted(col(5), false) ? "ok" : "bad"));
  var box = document.querySelector('.filter[data-for="flow-table"]');
  var input = box.querySelector("input");
  input.value = "203.0.113.83";
  input.dispatchEvent(new Event("input"));
  r.push("filter=" + box.querySelector("output").value);
  input.value = "";
  input.dispatchEvent(new Event("input"));
  var sel = box.querySelector("select");
  sel.value = "problems";
  sel.dispatchEvent(new Event("change"));
  var ok = Array.prototype.every.call(table.tBodies[0].rows, function (x) {
    return x.hidden === (x.getAttribute("data-why").indexOf("problems") < 0);
  });
  r.push("problems=" + (ok ? "ok" : "bad"));
  var btn = document.querySelector("button[data-copy]");
  btn.click();
  setTimeout(function () {
    r.push("copy=" + (btn.textContent !== "Copy filter" ? "ok" : "bad"));
    window.dispatchEvent(new Event("beforeprint"));
    var det = document.querySelector("details");
    r.push("print=" + (!det || det.open ? "ok" : "bad"));
    window.dispatchEvent(new Event("afterprint"));
    document.body.setAttribute("data-interact", r.join(" "));
  }, 200);
});`

// overflowJS records whether the page is wider than the window.
const overflowJS = `document.addEventListener("DOMContentLoaded", function () {
  var w = document.documentElement.scrollWidth, v = window.innerWidth;
  document.body.setAttribute("data-overflow", w <= v ? "none" : w + " > " + v);
});`

// withScript adds a test's script at the end of a report (rendered
// without its policy, so the script may run).
func withScript(page []byte, js string) []byte {
	at := bytes.LastIndex(page, []byte("</body>"))
	var b bytes.Buffer
	b.Write(page[:at])
	b.WriteString("<script>" + js + "</script>")
	b.Write(page[at:])
	return b.Bytes()
}
