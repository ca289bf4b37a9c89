package faultproxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, deadline time.Duration) error {
	c.SetDeadline(time.Now().Add(deadline))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

func TestModes(t *testing.T) {
	p := Start(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c, 5*time.Second); err != nil {
		t.Fatalf("forward: %v", err)
	}
	p.Set(Stall)
	if err := roundTrip(c, 200*time.Millisecond); err == nil {
		t.Fatal("a stalled proxy answered")
	}
	p.Set(Forward) // the held line is delivered and answered
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("held bytes after healing: %v", err)
	}
	p.Set(Refuse)
	if r, err := net.Dial("tcp", p.Addr()); err == nil {
		if roundTrip(r, 5*time.Second) == nil {
			t.Fatal("a refusing proxy served a new connection")
		}
		r.Close()
	}
	p.Set(Forward)
	p.ResetAll()
	if roundTrip(c, 5*time.Second) == nil {
		t.Fatal("a reset connection still answered")
	}
}
