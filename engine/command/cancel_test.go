package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer answers every exec request on loopback after `delay` with "done" and exit status 0,
// and closes its listener when the test ends.
func sshServer(t *testing.T, delay time.Duration) int {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(conn, cfg, delay)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func serve(conn net.Conn, cfg *ssh.ServerConfig, delay time.Duration) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, requests, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range requests {
				_ = req.Reply(req.Type == "exec" || req.Type == "env", nil)
				if req.Type != "exec" {
					continue
				}
				time.Sleep(delay)
				_, _ = ch.Write([]byte("done\n"))
				status := make([]byte, 4)
				binary.BigEndian.PutUint32(status, 0)
				_, _ = ch.SendRequest("exit-status", false, status)
				ch.Close()
			}
		}()
	}
}

func quietArgs(port int) *commandArgs {
	return &commandArgs{
		Connection: connection{Host: "127.0.0.1", Port: port, User: "root", Password: "x", DialErrorLimit: 100, PerDialTimeout: 1},
		Logging:    "none",
	}
}

// Ctrl-C must not cut a formula in the middle: the command that is running ends on its own.
func TestCancelLetsARunningCommandFinish(t *testing.T) {
	p := newCommandProvider(nil)
	port := sshServer(t, 1500*time.Millisecond)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, _ = p.Cancel(context.Background(), nil)
	}()
	out, err := p.run(context.Background(), "urn:x", quietArgs(port), "formula", nil, time.Minute)
	if err != nil {
		t.Fatalf("the running command was cut: %v", err)
	}
	if out.stdout != "done" {
		t.Fatalf("stdout = %q, want done", out.stdout)
	}
}

// A machine that does not answer yet is not waited for once the operator has cancelled.
func TestCancelStopsDialling(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens: every attempt is refused, and dial retries for 100 s
	p := newCommandProvider(nil)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = p.Cancel(context.Background(), nil)
	}()
	start := time.Now()
	_, err = p.run(context.Background(), "urn:x", quietArgs(port), "formula", nil, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "canceled before anything was sent") {
		t.Fatalf("err = %v, want a cancellation", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("dialling went on %v after the cancel", waited)
	}
}
