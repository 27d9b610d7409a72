package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// secretOf is how the engine sends a secret input to a plugin that accepts secrets.
func secretOf(v any) map[string]any {
	return map[string]any{resource.SigKey: resource.SecretSig, "value": v}
}

func outputIsSecret(t *testing.T, props *structpb.Struct, key string) bool {
	t.Helper()
	return isSecret(props.GetFields()[key])
}

// A formula's output may repeat what it was given: with a secret stdin (or command), stdout and
// stderr go into the state as secrets. The connection's key alone does not make them secret.
func TestOutputsAreSecretWhenAnInputIs(t *testing.T) {
	p := newCommandProvider(nil)
	cases := []struct {
		name   string
		edit   func(m map[string]any)
		secret bool
	}{
		{"no secret", func(map[string]any) {}, false},
		{"secret stdin", func(m map[string]any) { m["stdin"] = secretOf("SECRET_X=cw==\n") }, true},
		{"secret command", func(m map[string]any) { m["create"] = secretOf("echo s3cret") }, true},
		{"secret environment value", func(m map[string]any) { m["environment"] = map[string]any{"A": secretOf("x")} }, true},
		{"only the connection's key is secret", func(m map[string]any) {
			m["connection"] = map[string]any{"host": "127.0.0.1", "port": 22.0, "user": "root", "privateKey": secretOf("-----BEGIN...")}
		}, false},
	}
	for _, c := range cases {
		m := base()
		c.edit(m)
		resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: "urn:pulumi:s::p::command:remote:Command::x", Properties: inputs(t, m), Preview: true})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, k := range []string{"stdout", "stderr"} {
			if got := outputIsSecret(t, resp.GetProperties(), k); got != c.secret {
				t.Errorf("%s: %s secret = %v, want %v", c.name, k, got, c.secret)
			}
		}
		// The inputs go back as they came: a secret input stays wrapped.
		if c.secret && c.name == "secret stdin" && !isSecret(resp.GetProperties().GetFields()["stdin"]) {
			t.Errorf("%s: stdin lost its secret wrapper", c.name)
		}
	}
}

// Secrets arrive wrapped; the checks and the diff see the plain values.
func TestCheckAndDiffSeeThroughSecrets(t *testing.T) {
	p := newCommandProvider(nil)
	m := base()
	m["connection"] = secretOf(map[string]any{"host": "127.0.0.1", "port": 22.0, "user": "root"})
	check, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:s::p::command:remote:Command::x", News: inputs(t, m)})
	if err != nil || len(check.GetFailures()) != 0 {
		t.Fatalf("a secret connection was refused: %v %v", err, check.GetFailures())
	}
	news := base()
	news["stdin"] = secretOf(base()["stdin"])
	diff, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{OldInputs: inputs(t, base()), News: inputs(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if diff.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("the same stdin, now secret, runs the formula again: %v", diff.GetDiffs())
	}
	news["stdin"] = secretOf("A=2\n")
	diff, _ = p.Diff(context.Background(), &pulumirpc.DiffRequest{OldInputs: inputs(t, base()), News: inputs(t, news)})
	if diff.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME {
		t.Errorf("a changed secret stdin is not a change")
	}
}

// The state keeps a bounded tail of each stream, valid UTF-8, saying how much it dropped.
func TestKeptOutputIsBounded(t *testing.T) {
	b := &tailBuffer{limit: maxKept}
	line := strings.Repeat("é", 50) + "\n" // 101 bytes, two-byte characters
	for i := 0; i < 20000; i++ {
		_, _ = b.Write([]byte(line))
	}
	_, _ = b.Write([]byte("the last line\n"))
	out := b.String()
	if len(out) > maxKept+100 {
		t.Fatalf("kept %d bytes, more than %d", len(out), maxKept)
	}
	if !strings.HasPrefix(out, "[kinetic: the first ") || !strings.Contains(out, " bytes of this output are not kept]\n") {
		t.Fatalf("no note of what was dropped: %q", out[:80])
	}
	if !strings.HasSuffix(out, "the last line") {
		t.Fatalf("the tail is not the end of the output: %q", out[len(out)-40:])
	}
	if !strings.Contains(out, "]\né") || strings.ContainsRune(out, '\uFFFD') {
		t.Fatalf("the kept part starts mid-character")
	}
	small := &tailBuffer{limit: maxKept}
	_, _ = small.Write([]byte("ok\n"))
	if small.String() != "ok" {
		t.Fatalf("a short output changed: %q", small.String())
	}
}

// A command that outlives its deadline is given up on: the engine's customTimeouts (the request's
// timeout, in seconds) when set.
func TestCommandDeadline(t *testing.T) {
	port := sshServer(t, 10*time.Second)
	p := newCommandProvider(nil)
	m := map[string]any{
		"connection": map[string]any{"host": "127.0.0.1", "port": float64(port), "user": "root", "password": "x"},
		"create":     "formula",
		"logging":    "none",
	}
	start := time.Now()
	_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: "urn:pulumi:s::p::command:remote:Command::x", Properties: inputs(t, m), Timeout: 1})
	if err == nil || !strings.Contains(err.Error(), "did not end within its deadline of 1s") {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("gave up after %v, not about 1 s", waited)
	}
	if deadline(0) != defaultDeadline || deadline(90) != 90*time.Second {
		t.Fatalf("deadline(0) = %v, deadline(90) = %v", deadline(0), deadline(90))
	}
}
