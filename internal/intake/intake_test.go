package intake

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/detect"
)

func collect(t *testing.T, format, input string) ([]detect.Event, Report) {
	t.Helper()
	p, err := NewParser(format, time.UTC, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var evs []detect.Event
	rep, err := Read(context.Background(), strings.NewReader(input), p, func(e *detect.Event) { evs = append(evs, *e) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, rep
}

func TestReadCountsMalformedAndGoesOn(t *testing.T) {
	in := `{"@timestamp":"2026-03-02T01:00:00Z","event.action":"login","event.outcome":"failure","user.name":"a","source.ip":"192.0.2.1"}
{"@timestamp":"2026-03-02T01:00:01Z","event.action":"login"
not json at all

{"@timestamp":"2026-03-02T01:00:02Z","event.action":"login","event.outcome":"success","user.name":"a","source.ip":"192.0.2.1"}`
	evs, rep := collect(t, "ndjson", in)
	if len(evs) != 2 || rep.Lines != 5 || rep.Malformed != 2 || rep.Events != 2 {
		t.Fatalf("events %d, report %+v", len(evs), rep)
	}
	if rep.Errors[0].Line != 2 || rep.Errors[1].Line != 3 {
		t.Errorf("error lines %+v", rep.Errors)
	}
}

func TestReadLongLine(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // longer than the reader's buffer, shorter than MaxLine
	in := long + "\n" + `{"@timestamp":"2026-03-02T01:00:02Z","event.action":"login","event.outcome":"success","user.name":"a"}` + "\n"
	evs, rep := collect(t, "ndjson", in)
	if len(evs) != 1 || rep.Malformed != 1 || rep.Lines != 2 {
		t.Fatalf("events %d report %+v", len(evs), rep)
	}
}

func TestAutoMixedSyslog(t *testing.T) {
	in := `Mar  2 10:00:01 h1 sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2
Mar  2 10:00:02 h1 su[2]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 ruser=alice rhost=  user=root
Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4
Mar  2 10:00:03 kc keycloak[3]: type=LOGIN_ERROR, realmId=bank, clientId=web, userId=null, ipAddress=192.0.2.3, error=user_not_found, username=zed
Mar  2 10:00:04 h1 kernel: eth0 link up
Mar  2 10:00:05 h1 sshd[4]: Invalid user bob from 192.0.2.4 port 2
`
	evs, rep := collect(t, "auto", in)
	var got []string
	for _, e := range evs {
		got = append(got, e.Service+":"+e.User)
	}
	want := []string{"sshd:root", "su:root", "sshd:", "keycloak/bank:zed", "sshd:bob"}
	if !slices.Equal(got, want) || rep.Malformed != 0 {
		t.Errorf("got %v (report %+v), want %v", got, rep, want)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		`{"@timestamp":"x","event.action":"login"}`:                      "ndjson",
		`{"Records":[{"eventSource":"signin.amazonaws.com"}]}`:           "cloudtrail",
		`{"time":1,"type":"LOGIN","realmId":"r"}`:                        "keycloak",
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user x from 1.2.3.4": "sshd",
		"Jun 14 15:16:01 combo su(pam_unix)[1]: session opened":          "auto",
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
	if _, err := NewParser("xml", nil, time.Time{}); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestListener sends real datagrams and TCP streams to a listener on
// loopback: UDP with two messages in one datagram, TCP with octet counting
// and with newlines, and an oversized frame that is dropped.
func TestListener(t *testing.T) {
	var mu sync.Mutex
	var got []string
	l := &Listener{UDP: "127.0.0.1:0", TCP: "127.0.0.1:0", MaxMessage: 200, Handler: func(m []byte) {
		mu.Lock()
		got = append(got, string(m))
		mu.Unlock()
	}}
	if err := l.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Serve(ctx) }()

	u, err := net.Dial("udp", l.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("<13>Mar  2 10:00:01 h sshd[1]: one\n<13>Mar  2 10:00:01 h sshd[1]: two\n"))
	u.Close()

	c, err := net.Dial("tcp", l.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	m3 := "<13>1 2026-03-02T01:00:00Z h sshd 1 - - three"
	fmt.Fprintf(c, "%d %s", len(m3), m3)
	fmt.Fprintf(c, "%d %s\n", len("four\n")-1, "four")
	c.Close()
	c2, _ := net.Dial("tcp", l.TCPAddr().String())
	c2.Write([]byte("<13>Mar  2 10:00:01 h sshd[1]: five\r\n<13>Mar  2 10:00:01 h sshd[1]: six\n"))
	c2.Close()
	c3, _ := net.Dial("tcp", l.TCPAddr().String())
	fmt.Fprintf(c3, "999 %s", strings.Repeat("y", 999)) // over MaxMessage
	c3.Close()

	want := []string{"<13>Mar  2 10:00:01 h sshd[1]: one", "<13>Mar  2 10:00:01 h sshd[1]: two", m3, "four",
		"<13>Mar  2 10:00:01 h sshd[1]: five", "<13>Mar  2 10:00:01 h sshd[1]: six"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		_, dropped := l.Counts()
		if (n >= len(want) && dropped >= 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if recv, dropped := l.Counts(); recv != len(want) || dropped != 1 {
		t.Errorf("counts: received %d dropped %d", recv, dropped)
	}
}

// TestTail writes to a real file while it is tailed: appends, a partial
// line completed later, a rotation (rename and a new file) and a truncation.
func TestTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(path, []byte("old line, skipped\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	tail := &Tail{Path: path, Poll: 5 * time.Millisecond}
	done := make(chan error)
	go func() {
		done <- tail.Run(ctx, func(l []byte) {
			mu.Lock()
			got = append(got, string(l))
			mu.Unlock()
		})
	}()
	wait := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			k := len(got)
			mu.Unlock()
			if k >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d lines, have %d: %q", n, k, got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	time.Sleep(30 * time.Millisecond) // let Run open the file and seek to its end
	appendTo(path, "a\nb")
	wait(1)
	appendTo(path, "c\n")
	wait(2)
	// Rotate: the old file gets one more line after the rename, then a new file appears.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(path+".1", "d\n")
	time.Sleep(20 * time.Millisecond)
	appendTo(path, "e\n")
	wait(4)
	// Truncate in place (copytruncate), then write.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	appendTo(path, "f\n")
	wait(5)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"a", "bc", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFeed(t *testing.T) {
	p, _ := NewParser("sshd", time.UTC, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	var n int
	f := NewFeed(p, func(*detect.Event) { n++ })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				f.Line(fmt.Appendf(nil, "Mar  2 10:00:01 h sshd[%d]: Failed password for u%d from 192.0.2.1 port 1 ssh2\n", i*1000+j, j))
			}
			f.Line([]byte("garbage"))
		}()
	}
	wg.Wait()
	f.Flush()
	if rep := f.Report(); n != 800 || rep.Events != 800 || rep.Malformed != 8 || rep.Lines != 808 {
		t.Errorf("n=%d report %+v", n, rep)
	}
}

// FuzzTCPFraming feeds arbitrary bytes to the TCP framing (octet counting
// or newlines): no panic, no message over the limit.
func FuzzTCPFraming(f *testing.F) {
	f.Add([]byte("12 <13>1 - h a\n<13>Mar  2 10:00:01 h sshd[1]: x\n"))
	f.Add([]byte("99999999999 x"))
	f.Add([]byte("5 ab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l := &Listener{MaxMessage: 64, IdleTimeout: time.Second, Handler: func(m []byte) {
			if len(m) > 64 || len(m) == 0 {
				t.Fatalf("message of %d bytes", len(m))
			}
		}}
		client, server := net.Pipe()
		go func() {
			client.Write(b)
			client.Close()
		}()
		l.serveTCP(server)
		server.Close()
	})
}
