package segmentapi_test

import (
	"net"
	"testing"
	"time"
)

// delayProxy forwards connections from a loopback port to addr, holding
// each chunk read for at least delay in each direction, so that the
// benchmark can put PostgreSQL a network round trip away
// (TEND_BENCH_PG_DELAY). It returns the proxy's address. time.Sleep's
// granularity makes the real delay longer: measure the round trip (psql's
// \timing through it) and report that.
func delayProxy(b testing.TB, addr string, delay time.Duration) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				s, err := net.Dial("tcp", addr)
				if err != nil {
					c.Close()
					return
				}
				go forwardLate(s, c, delay)
				forwardLate(c, s, delay)
			}()
		}
	}()
	return l.Addr().String()
}

// forwardLate copies src to dst, each chunk delay after it was read, in
// order, then closes dst's side.
func forwardLate(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		b  []byte
		at time.Time
	}
	ch := make(chan chunk, 1024)
	go func() {
		defer dst.Close()
		for c := range ch {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.b); err != nil {
				return
			}
		}
	}()
	defer close(ch)
	for {
		b := make([]byte, 64<<10)
		n, err := src.Read(b)
		if n > 0 {
			ch <- chunk{b[:n], time.Now().Add(delay)}
		}
		if err != nil {
			return
		}
	}
}
