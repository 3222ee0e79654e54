// Command aiload is the load generator of bench/ai.sh. It has two modes.
//
//	aiload run -label L -url U [-H 'Name: value']... -body JSON -expect SUFFIX [-c N] [-d 5s] [-warmup 1s]
//
// POSTs the body over N keep-alive connections for the duration (after
// a warm-up that is not counted), checks every answer (status 200, the
// body ends with SUFFIX once trimmed: a complete answer or stream), and
// prints one line: label, requests per second, p50, p90 and p99 latency
// in microseconds (whole answer, last byte), requests, errors, and the
// first error quoted.
//
//	aiload report FILE
//
// reads such lines (labels "scenario/mode/target/run", the target being
// direct, sluice or portkey) and prints the markdown tables of
// BENCHMARKS.md's AI gateway section: per scenario the median of the
// runs, the overhead against direct, and the ratios.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: aiload run|report ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		run(os.Args[2:])
	case "report":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: aiload report FILE")
			os.Exit(2)
		}
		if err := report(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "usage: aiload run|report ...")
		os.Exit(2)
	}
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func run(args []string) {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	label := fs.String("label", "run", "label printed first")
	url := fs.String("url", "", "URL to POST to")
	body := fs.String("body", "", "request body (JSON)")
	expect := fs.String("expect", "", "a complete answer ends with this (trimmed)")
	conns := fs.Int("c", 1, "connections (each one request at a time)")
	dur := fs.Duration("d", 5*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "warm-up before measuring")
	var hdr headers
	fs.Var(&hdr, "H", "request header 'Name: value' (repeatable)")
	fs.Parse(args)
	if *url == "" || *body == "" {
		fmt.Fprintln(os.Stderr, "aiload run: -url and -body are required")
		os.Exit(2)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for _, kv := range hdr {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "aiload run: bad header %q\n", kv)
			os.Exit(2)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true, Proxy: nil}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	l := &load{client: client, url: *url, header: h, body: []byte(*body), expect: []byte(*expect)}

	l.phase(*conns, *warm, false)
	lat, errs, firstErr, elapsed := l.phase(*conns, *dur, true)
	slices.Sort(lat)
	fmt.Printf("%s %.1f %.1f %.1f %.1f %d %d %q\n", *label, float64(len(lat))/elapsed.Seconds(),
		pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99), len(lat), errs, firstErr)
}

type load struct {
	client *http.Client
	url    string
	header http.Header
	body   []byte
	expect []byte
}

// phase runs conns workers for d; when keep is set it returns every
// successful request's latency, the error count and the first error.
func (l *load) phase(conns int, d time.Duration, keep bool) (lat []time.Duration, errs int, firstErr string, elapsed time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var buf bytes.Buffer
			nerr, first := 0, ""
			for time.Now().Before(end) {
				t0 := time.Now()
				err := l.once(&buf)
				if err != nil {
					nerr++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += nerr
			if firstErr == "" {
				firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed = time.Since(start)
	if !keep {
		return nil, 0, "", elapsed
	}
	return lat, errs, firstErr, elapsed
}

func (l *load) once(buf *bytes.Buffer) error {
	req, err := http.NewRequest(http.MethodPost, l.url, bytes.NewReader(l.body))
	if err != nil {
		return err
	}
	req.Header = l.header.Clone()
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, buf.Bytes())
	}
	if !bytes.HasSuffix(bytes.TrimSpace(buf.Bytes()), l.expect) {
		return fmt.Errorf("incomplete answer: ...%.200s", tail(buf.Bytes(), 200))
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// pct is the p quantile of sorted latencies, in microseconds.
func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]) / 1e3
}

// result is one run's line.
type result struct {
	rps, p50, p90, p99 float64
	n, errs            int
	firstErr           string
}

func parseLine(line string) (label string, r result, err error) {
	f := strings.SplitN(line, " ", 8)
	if len(f) < 7 {
		return "", r, fmt.Errorf("short line %q", line)
	}
	nums := make([]float64, 6)
	for i := range nums {
		if nums[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return "", r, fmt.Errorf("line %q: %v", line, err)
		}
	}
	r = result{rps: nums[0], p50: nums[1], p90: nums[2], p99: nums[3], n: int(nums[4]), errs: int(nums[5])}
	if len(f) == 8 {
		r.firstErr, _ = strconv.Unquote(f[7])
	}
	return f[0], r, nil
}

// report prints the markdown tables for the results in file.
func report(file string, w io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	type key struct{ scenario, mode, target string }
	runs := map[key][]result{}
	var scenarios []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		label, r, err := parseLine(line)
		if err != nil {
			return err
		}
		p := strings.Split(label, "/")
		if len(p) != 4 {
			return fmt.Errorf("label %q is not scenario/mode/target/run", label)
		}
		k := key{p[0], p[1], p[2]}
		if !slices.Contains(scenarios, p[0]) {
			scenarios = append(scenarios, p[0])
		}
		runs[k] = append(runs[k], r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// med is the run with the median of the metric the mode is about:
	// p50 for latency, RPS for throughput; the other columns come from
	// that same run.
	med := func(k key) (result, int, string, bool) {
		rs := slices.Clone(runs[k])
		if len(rs) == 0 {
			return result{}, 0, "", false
		}
		errs, first := 0, ""
		for _, r := range rs {
			errs += r.errs
			if first == "" {
				first = r.firstErr
			}
		}
		if k.mode == "latency" {
			slices.SortFunc(rs, func(a, b result) int { return cmpF(a.p50, b.p50) })
		} else {
			slices.SortFunc(rs, func(a, b result) int { return cmpF(a.rps, b.rps) })
		}
		return rs[(len(rs)-1)/2], errs, first, true
	}
	targets := []string{"direct", "nginx", "proxy", "sluice", "portkey"}
	names := map[string]string{"direct": "direct to the mock", "nginx": "nginx, plain proxy (a C proxy's hop)",
		"proxy": "sluice, plain proxy route (the hop's floor)", "sluice": "**sluice**", "portkey": "Portkey"}
	// Reference targets are left out of a report when a run has none
	// (older runs, or nginx not installed).
	reference := func(t string) bool { return t == "proxy" || t == "nginx" }
	measured := func(s, mode, t string) bool { _, _, _, ok := med(key{s, mode, t}); return ok }

	fmt.Fprintln(w, "### Latency overhead (1 connection, one request at a time)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Overhead = the gateway's percentile minus direct's (whole answer, last byte). Median of the runs by p50.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | target | p50 µs | p99 µs | overhead p50 µs | overhead p99 µs | errors | p50 per run |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|")
	type over struct{ nginx, proxy, sluice, portkey float64 }
	overheads := map[string]over{}
	for _, s := range scenarios {
		d, _, _, okd := med(key{s, "latency", "direct"})
		var o over
		for _, t := range targets {
			k := key{s, "latency", t}
			r, errs, first, ok := med(k)
			if !ok && reference(t) {
				continue
			}
			if !ok {
				fmt.Fprintf(w, "| %s | %s | not measured | | | | | |\n", s, names[t])
				continue
			}
			per := make([]string, 0, len(runs[k]))
			for _, x := range runs[k] {
				per = append(per, fmt.Sprintf("%.0f", x.p50))
			}
			o50, o99 := "", ""
			if t != "direct" && okd {
				o50, o99 = fmt.Sprintf("%.0f", r.p50-d.p50), fmt.Sprintf("%.0f", r.p99-d.p99)
				switch t {
				case "nginx":
					o.nginx = r.p50 - d.p50
				case "proxy":
					o.proxy = r.p50 - d.p50
				case "sluice":
					o.sluice = r.p50 - d.p50
				default:
					o.portkey = r.p50 - d.p50
				}
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n", s, names[t], r.p50, r.p99, o50, o99, errCell(errs, first), strings.Join(per, "/"))
		}
		overheads[s] = o
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | sluice p50 overhead | of which the hop (plain proxy) | AI work | nginx's hop | Portkey p50 overhead | Portkey / sluice | Portkey / nginx's hop |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	ratio := func(a, b float64) string {
		if a > 0 && b > 0 {
			return fmt.Sprintf("%.1f×", a/b)
		}
		return "n/a"
	}
	for _, s := range scenarios {
		o := overheads[s]
		hop, work := "n/a", "n/a"
		if measured(s, "latency", "proxy") {
			hop, work = fmt.Sprintf("%.3f ms", o.proxy/1e3), fmt.Sprintf("%.3f ms", (o.sluice-o.proxy)/1e3)
		}
		nginxHop := "n/a"
		if measured(s, "latency", "nginx") {
			nginxHop = fmt.Sprintf("%.3f ms", o.nginx/1e3)
		}
		ours := ratio(o.portkey, o.sluice)
		if ours != "n/a" {
			ours = "**" + ours + "**"
		}
		fmt.Fprintf(w, "| %s | %.3f ms | %s | %s | %s | %s | %s | %s |\n", s, o.sluice/1e3, hop, work, nginxHop, msOrNA(o.portkey), ours, ratio(o.portkey, o.nginx))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Throughput (concurrent connections)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Median of the runs by RPS; latencies from that run.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | target | RPS | p50 ms | p99 ms | RPS / direct | errors | RPS per run |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|")
	for _, s := range scenarios {
		d, _, _, okd := med(key{s, "throughput", "direct"})
		for _, t := range targets {
			k := key{s, "throughput", t}
			r, errs, first, ok := med(k)
			if !ok && reference(t) {
				continue
			}
			if !ok {
				fmt.Fprintf(w, "| %s | %s | not measured | | | | | |\n", s, names[t])
				continue
			}
			per := make([]string, 0, len(runs[k]))
			for _, x := range runs[k] {
				per = append(per, fmt.Sprintf("%.0f", x.rps))
			}
			rel := "n/a"
			if okd && d.rps > 0 {
				rel = fmt.Sprintf("%.2f", r.rps/d.rps)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s |\n", s, names[t], r.rps, r.p50/1e3, r.p99/1e3, rel, errCell(errs, first), strings.Join(per, "/"))
		}
	}
	return nil
}

func msOrNA(us float64) string {
	if us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f ms", us/1e3)
}

func errCell(n int, first string) string {
	if n == 0 {
		return "0"
	}
	if len(first) > 80 {
		first = first[:80] + "…"
	}
	return fmt.Sprintf("**%d** (%s)", n, strings.ReplaceAll(first, "|", "/"))
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
