package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
	"github.com/mamori-dev/mamori/internal/intake"
)

// cpuTime is the CPU time this process has used. The benchmarks report
// events per CPU-second as well as per wall-second: on a shared machine the
// wall clock also counts other processes' time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rate reports n items over the time since start and the CPU since cpu0.
func rate(b *testing.B, n int, unit string, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), unit+"/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu0).Seconds(), unit+"/cpu-s")
}

var (
	benchOnce   sync.Once
	benchEvents []detect.Event
)

// benchTraffic is the labelled synthetic traffic: 2,000 users over a week
// with every attack, about 33,000 events.
func benchTraffic() []detect.Event {
	benchOnce.Do(func() {
		s := newSynth(7, 2000, 7)
		s.benign()
		s.attacksAll(decoyName)
		benchEvents = s.sorted()
	})
	return benchEvents
}

// feed observes n events cycling through evs, each round shifted a week
// later so that time keeps moving forward.
func feed(e *detect.Engine, evs []detect.Event, n int) {
	span := evs[len(evs)-1].Time.Sub(evs[0].Time) + time.Hour
	for i := 0; i < n; {
		shift := time.Duration(i/len(evs)) * span
		for j := range evs {
			if i >= n {
				return
			}
			ev := evs[j]
			ev.Time = ev.Time.Add(shift)
			e.Observe(&ev)
			i++
		}
	}
}

// BenchmarkDetect is detection alone, after parsing: one engine, one core.
func BenchmarkDetect(b *testing.B) {
	evs := benchTraffic()
	cfg := detect.Default()
	cfg.Decoy.Accounts = []string{decoyName}
	e, err := detect.New(cfg, detect.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	feed(e, evs, b.N)
	rate(b, b.N, "events", start, cpu0)
}

// BenchmarkNDJSON is parsing canonical NDJSON and detecting.
func BenchmarkNDJSON(b *testing.B) {
	evs := benchTraffic()
	var buf bytes.Buffer
	for i := range evs {
		line, _ := json.Marshal(evs[i])
		buf.Write(line)
		buf.WriteByte('\n')
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)) / int64(len(evs)))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for n < b.N {
		e, _ := detect.New(detect.Default(), detect.Options{})
		p, _ := intake.NewParser("ndjson", time.UTC, time.Time{})
		rep, err := intake.Read(context.Background(), bytes.NewReader(data), p, e.Observe)
		if err != nil || rep.Malformed > 0 {
			b.Fatal(err, rep)
		}
		n += rep.Events
	}
	rate(b, n, "events", start, cpu0)
}

// sshdLog renders the synthetic traffic as sshd lines, as OpenSSH logs it:
// a failed password is two lines (PAM, then sshd), an unknown user three.
func sshdLog(evs []detect.Event) []byte {
	var buf bytes.Buffer
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for i, e := range evs {
		if e.Action != detect.ActionLogin || !e.Source.IsValid() {
			continue
		}
		ts := e.Time.In(tokyo).Format(time.Stamp)
		pid := 10000 + i
		switch {
		case e.Outcome == detect.OutcomeSuccess:
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: Accepted password for %s from %s port %d ssh2\n", ts, pid, e.User, e.Source, 40000+i%20000)
		case e.Reason == detect.ReasonUnknownUser:
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: Invalid user %s from %s port %d\n", ts, pid, e.User, e.Source, 40000+i%20000)
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s\n", ts, pid, e.Source)
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: Failed password for invalid user %s from %s port %d ssh2\n", ts, pid, e.User, e.Source, 40000+i%20000)
		default:
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s\n", ts, pid, e.Source, e.User)
			fmt.Fprintf(&buf, "%s bank1 sshd[%d]: Failed password for %s from %s port %d ssh2\n", ts, pid, e.User, e.Source, 40000+i%20000)
		}
		fmt.Fprintf(&buf, "%s bank1 sshd[%d]: Received disconnect from %s port %d:11: Bye Bye [preauth]\n", ts, pid, e.Source, 40000+i%20000)
	}
	return buf.Bytes()
}

// BenchmarkSshd is parsing sshd lines and detecting; the metric counts lines.
func BenchmarkSshd(b *testing.B) {
	data := sshdLog(benchTraffic())
	lines := bytes.Count(data, []byte("\n"))
	b.SetBytes(int64(len(data)) / int64(lines))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for n < b.N {
		e, _ := detect.New(detect.Default(), detect.Options{})
		p, _ := intake.NewParser("sshd", time.UTC, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
		rep, err := intake.Read(context.Background(), bytes.NewReader(data), p, e.Observe)
		if err != nil || rep.Malformed > 0 {
			b.Fatal(err, rep)
		}
		n += rep.Lines
	}
	rate(b, n, "lines", start, cpu0)
}

// BenchmarkSshdLoghub replays the real loghub OpenSSH sample, when present.
func BenchmarkSshdLoghub(b *testing.B) {
	dir := os.Getenv("MAMORI_SHARED_DATA")
	if dir == "" {
		dir = "../../../shared/data"
	}
	data, err := os.ReadFile(dir + "/logs/loghub/OpenSSH_2k.log")
	if err != nil {
		b.Skipf("loghub sample not here (set MAMORI_SHARED_DATA): %v", err)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for n < b.N {
		e, _ := detect.New(detect.Default(), detect.Options{})
		p, _ := intake.NewParser("sshd", time.UTC, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
		rep, _ := intake.Read(context.Background(), bytes.NewReader(data), p, e.Observe)
		e.Flush()
		n += rep.Lines
	}
	rate(b, n, "lines", start, cpu0)
}

// BenchmarkMemory10MSources feeds 10 million sign-ins, each from a new
// address, and reports the heap afterwards: memory is bounded by
// limits.max_keys and limits.max_pending, not by the number of sources.
// "mixed": customers signing in, 5% failing once (typos). "failing": every
// sign-in fails, each from a new address on one of 65,536 accounts — a
// massively distributed attack, so alerts and their evidence are made too.
// Addresses are scattered over the IPv4 space.
func BenchmarkMemory10MSources(b *testing.B) {
	n := 10_000_000
	if v := os.Getenv("MAMORI_BENCH_SOURCES"); v != "" {
		fmt.Sscan(v, &n) // a smaller run, for profiling
	}
	names := make([]string, 1<<20)
	for i := range names {
		names[i] = fmt.Sprintf("user%07d", i)
	}
	for _, mode := range []string{"mixed", "failing"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				e, err := detect.New(detect.Default(), detect.Options{})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
				start, cpu0 := time.Now(), cpuTime()
				for i := range n {
					// Distinct addresses scattered over the IPv4 space, as a
					// botnet's or a customer base's are (an odd multiplier is a
					// bijection on 32 bits).
					x := uint32(i) * 2654435761
					a := netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
					ev := detect.Event{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Action: detect.ActionLogin,
						Outcome: detect.OutcomeFailure, Reason: detect.ReasonBadPassword, Source: a}
					if mode == "mixed" {
						ev.User = names[(i*7919)&(1<<20-1)]
						if i%20 != 0 {
							ev.Outcome, ev.Reason = detect.OutcomeSuccess, ""
						}
					} else {
						ev.User = names[i&(1<<16-1)]
					}
					e.Observe(&ev)
				}
				rate(b, n, "events", start, cpu0)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				st := e.Stats()
				b.ReportMetric(float64(ms.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap")
				b.ReportMetric(float64(st.Sources), "sources-estimated")
				b.ReportMetric(float64(st.Alerts), "alerts")
				runtime.KeepAlive(e)
			}
		})
	}
}
