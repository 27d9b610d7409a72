package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// session is one SSH client connection to an endpoint.
type session struct {
	client *ssh.Client
	once   sync.Once
}

func (s *session) close() { s.once.Do(func() { _ = s.client.Close() }) }

type result struct{ stdout, stderr string }

// errHostKey marks a presented host key that is not the pinned one: never retried.
var errHostKey = errors.New("host key mismatch")

// dial connects with the connection's retry budget: dialErrorLimit attempts of perDialTimeout
// seconds each, spaced so that a server that refuses at once (still booting) is not given up on
// in a burst. A wrong host key ends the attempts at once.
func dial(ctx context.Context, c connection, urn string) (*session, error) {
	cfg, err := clientConfig(c)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var last error
	for attempt := 1; c.DialErrorLimit < 0 || attempt <= max(c.DialErrorLimit, 1); attempt++ {
		start := time.Now()
		client, err := dialOnce(ctx, addr, cfg)
		if err == nil {
			return &session{client: client}, nil
		}
		last = err
		if errors.Is(err, errHostKey) || ctx.Err() != nil {
			break
		}
		// Pace the attempts: each one takes at least the per-dial timeout.
		wait := time.Duration(c.PerDialTimeout)*time.Second - time.Since(start)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dialing %s: %w", addr, ctx.Err())
		case <-time.After(max(wait, 0)):
		}
	}
	return nil, fmt.Errorf("dialing %s as %s: %w", addr, c.User, last)
}

func dialOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func clientConfig(c connection) (*ssh.ClientConfig, error) {
	var auth []ssh.AuthMethod
	if c.PrivateKey != "" {
		var signer ssh.Signer
		var err error
		if c.PrivateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
		}
		if err != nil {
			// The key's text is never echoed: only that it did not parse.
			return nil, fmt.Errorf("connection.privateKey does not parse as an SSH private key: %v", err)
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if c.AgentSocketPath != "" {
		conn, err := net.Dial("unix", c.AgentSocketPath)
		if err != nil {
			return nil, fmt.Errorf("connection.agentSocketPath: %w", err)
		}
		auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	if c.Password != "" {
		auth = append(auth, ssh.Password(c.Password))
	}
	cfg := &ssh.ClientConfig{
		User:            c.User,
		Auth:            auth,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // upstream's behaviour when no key is pinned
		Timeout:         time.Duration(c.PerDialTimeout) * time.Second,
	}
	if c.HostKey != "" {
		pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.HostKey))
		if err != nil {
			return nil, fmt.Errorf("connection.hostKey is not an SSH public key line: %v", err)
		}
		cfg.HostKeyCallback = func(_ string, remote net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), pinned.Marshal()) {
				return nil
			}
			return fmt.Errorf("%w at %s: expected %s, presented %s; nothing was sent", errHostKey, remote,
				ssh.FingerprintSHA256(pinned), ssh.FingerprintSHA256(key))
		}
		// Ask for the pinned key's algorithm first, so a server with several keys presents it.
		cfg.HostKeyAlgorithms = hostKeyAlgorithms(pinned.Type())
	}
	return cfg, nil
}

func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// maxTail bounds how much of a failed command's output goes into the error.
const maxTail = 4096

// maxKept bounds how much of each stream is kept for the resource's state (stdout, stderr): the
// last 64 KiB, as a failure keeps a tail. Every line still goes to the engine's log as it comes.
const maxKept = 64 * 1024

// defaultDeadline ends a command that runs longer and whose resource sets no customTimeouts: far
// above any formula (a cold OpenStack install takes minutes; the formula lock waits 30 at most).
const defaultDeadline = 2 * time.Hour

// deadline is the engine's timeout for the operation (customTimeouts, in seconds), else the default.
func deadline(seconds float64) time.Duration {
	if seconds > 0 {
		return time.Duration(seconds * float64(time.Second))
	}
	return defaultDeadline
}

// tailBuffer keeps the last `limit` bytes written to it and counts the rest.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int
	limit   int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.limit { // compact now and then, not on every write
		cut := len(t.buf) - t.limit
		t.dropped += cut
		t.buf = append([]byte(nil), t.buf[cut:]...)
	}
	return len(p), nil
}

// String is what was kept, valid UTF-8, with a first line saying how much was not.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, dropped := t.buf, t.dropped
	if len(b) > t.limit {
		dropped += len(b) - t.limit
		b = b[len(b)-t.limit:]
	}
	start := 0
	for dropped > 0 && start < len(b) && !utf8.RuneStart(b[start]) {
		start++ // never begin in the middle of a character
	}
	dropped += start
	out := strings.ToValidUTF8(strings.TrimSuffix(string(b[start:]), "\n"), "\uFFFD")
	if dropped > 0 {
		return fmt.Sprintf("[kinetic: the first %d bytes of this output are not kept]\n%s", dropped, out)
	}
	return out
}

// run executes cmd with stdin and environment, streaming lines to logf, and gives up on it after
// `limit`: the command is sent SIGTERM and its session closed.
func (s *session) run(cmd, stdin string, env, extra map[string]string, logf func(diag.Severity, string), limit time.Duration) (*result, error) {
	sess, err := s.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("opening a session: %w", err)
	}
	defer sess.Close()
	for k, v := range env {
		if err := sess.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("the server refused environment variable %s (sshd's AcceptEnv): %w", k, err)
		}
	}
	for k, v := range extra {
		_ = sess.Setenv(k, v) // informative only; most sshd configurations refuse them
	}
	sess.Stdin = strings.NewReader(stdin)
	stdout, stderr := &tailBuffer{limit: maxKept}, &tailBuffer{limit: maxKept}
	outPipe, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := sess.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start(cmd); err != nil {
		return nil, fmt.Errorf("starting the command: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); tee(outPipe, stdout, diag.Info, logf) }()
		go func() { defer wg.Done(); tee(errPipe, stderr, diag.Warning, logf) }()
		wg.Wait()
		done <- sess.Wait()
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		_ = sess.Signal(ssh.SIGTERM)
		s.close()
		return nil, fmt.Errorf("the command did not end within its deadline of %v (the resource's customTimeouts, else the plugin's default); it was sent SIGTERM and its session closed; stderr (last %d bytes):\n%s",
			limit, maxTail, tail(stderr.String()))
	}
	res := &result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		return nil, fmt.Errorf("%v; stderr (last %d bytes):\n%s", err, maxTail, tail(res.stderr))
	}
	return res, nil
}

func tee(r io.Reader, w io.Writer, sev diag.Severity, logf func(diag.Severity, string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		_, _ = w.Write([]byte(line + "\n"))
		logf(sev, line)
	}
	_, _ = io.Copy(w, r) // whatever a too-long line left behind
}

func tail(s string) string {
	if len(s) <= maxTail {
		return s
	}
	return s[len(s)-maxTail:]
}
