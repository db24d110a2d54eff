package intake

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Listener receives syslog messages over UDP (one message per datagram,
// or several separated by newlines) and TCP (RFC 6587: octet counting
// "LEN MSG", or one message per line — detected per frame). Handler gets
// each message without framing; it is called from several goroutines.
type Listener struct {
	// UDP and TCP are listen addresses ("127.0.0.1:5514"); empty skips one.
	UDP, TCP string
	Handler  func(msg []byte)
	// MaxMessage bounds one message (default 64 KiB); longer frames are
	// cut (UDP) or end the connection (TCP), and are counted.
	MaxMessage int
	// MaxConns bounds concurrent TCP connections (default 256).
	MaxConns int
	// IdleTimeout closes a TCP connection that sends nothing (default 5m).
	IdleTimeout time.Duration

	mu       sync.Mutex
	udp      net.PacketConn
	tcp      net.Listener
	dropped  int
	received int
}

// Listen opens the sockets, so that their addresses are known before
// Serve (tests listen on port 0).
func (l *Listener) Listen() error {
	if l.MaxMessage <= 0 {
		l.MaxMessage = 64 << 10
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 256
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 5 * time.Minute
	}
	if l.UDP != "" {
		c, err := net.ListenPacket("udp", l.UDP)
		if err != nil {
			return err
		}
		l.udp = c
	}
	if l.TCP != "" {
		t, err := net.Listen("tcp", l.TCP)
		if err != nil {
			if l.udp != nil {
				l.udp.Close()
			}
			return err
		}
		l.tcp = t
	}
	return nil
}

// UDPAddr and TCPAddr return the bound addresses (after Listen).
func (l *Listener) UDPAddr() net.Addr {
	if l.udp == nil {
		return nil
	}
	return l.udp.LocalAddr()
}

func (l *Listener) TCPAddr() net.Addr {
	if l.tcp == nil {
		return nil
	}
	return l.tcp.Addr()
}

// Counts returns messages received and frames dropped as malformed or
// too long.
func (l *Listener) Counts() (received, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.received, l.dropped
}

func (l *Listener) count(recv, drop int) {
	l.mu.Lock()
	l.received += recv
	l.dropped += drop
	l.mu.Unlock()
}

// Serve runs until ctx ends, then closes the sockets and waits for the
// connections to finish.
func (l *Listener) Serve(ctx context.Context) error {
	if l.udp == nil && l.tcp == nil {
		if err := l.Listen(); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	if l.udp != nil {
		wg.Add(1)
		go func() { defer wg.Done(); l.serveUDP() }()
	}
	conns := map[net.Conn]struct{}{}
	var cmu sync.Mutex
	if l.tcp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, l.MaxConns)
			for {
				c, err := l.tcp.Accept()
				if err != nil {
					return
				}
				select {
				case sem <- struct{}{}:
				default:
					c.Close() // over the limit
					l.count(0, 1)
					continue
				}
				cmu.Lock()
				conns[c] = struct{}{}
				cmu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					l.serveTCP(c)
					c.Close()
					cmu.Lock()
					delete(conns, c)
					cmu.Unlock()
					<-sem
				}()
			}
		}()
	}
	<-ctx.Done()
	if l.udp != nil {
		l.udp.Close()
	}
	if l.tcp != nil {
		l.tcp.Close()
	}
	cmu.Lock()
	for c := range conns {
		c.Close()
	}
	cmu.Unlock()
	wg.Wait()
	return nil
}

func (l *Listener) serveUDP() {
	buf := make([]byte, 65535)
	for {
		n, _, err := l.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		msg := buf[:n]
		if n > l.MaxMessage {
			msg = msg[:l.MaxMessage]
			l.count(0, 1)
		}
		for len(msg) > 0 {
			line := msg
			if i := bytes.IndexByte(msg, '\n'); i >= 0 {
				line, msg = msg[:i], msg[i+1:]
			} else {
				msg = nil
			}
			line = bytes.TrimRight(line, "\r\x00")
			if len(line) > 0 {
				l.count(1, 0)
				l.Handler(line)
			}
		}
	}
}

// serveTCP reads frames: a frame starting with a digit is octet-counted
// ("123 <34>1 …"), otherwise it runs to the newline.
func (l *Listener) serveTCP(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 0, 1024)
	for {
		c.SetReadDeadline(time.Now().Add(l.IdleTimeout))
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		if b[0] >= '1' && b[0] <= '9' {
			lenText, err := br.ReadSlice(' ')
			if err != nil {
				l.count(0, 1)
				return
			}
			n, err := strconv.Atoi(string(lenText[:len(lenText)-1]))
			if err != nil || n <= 0 || n > l.MaxMessage {
				l.count(0, 1)
				return // framing lost: nothing after can be trusted
			}
			buf = buf[:0]
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if _, err := io.ReadFull(br, buf); err != nil {
				l.count(0, 1)
				return
			}
			msg := bytes.TrimRight(buf, "\r\n")
			if len(msg) > 0 {
				l.count(1, 0)
				l.Handler(msg)
			}
			continue
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > l.MaxMessage {
			l.count(0, 1)
			return
		}
		if msg := bytes.TrimRight(line, "\r\n\x00"); len(msg) > 0 {
			l.count(1, 0)
			l.Handler(msg)
		}
		if err != nil {
			return
		}
	}
}
